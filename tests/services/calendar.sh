#!/bin/sh
# The seed's calendar: prompts "> " without a newline and answers lines.
while :; do
	printf '> '
	IFS= read -r line || exit 0
	case $line in
	"list schedule today "*)
		echo "8:00 make coffee"
		echo "9:00 read mail"
		;;
	quit)
		exit 0
		;;
	*)
		echo "unknown: $line"
		;;
	esac
done
