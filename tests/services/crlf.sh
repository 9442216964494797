#!/bin/sh
# A CRLF service: each input line must end in CRLF; answers in CRLF.
cr=$(printf '\r')
printf 'hello from crlf\r\n'
while IFS= read -r line; do
	case $line in
	*"$cr") printf 'got <%s>\r\n' "${line%"$cr"}" ;;
	*) printf 'bare LF line <%s>\r\n' "$line" ;;
	esac
done
printf 'bye\r\n'
