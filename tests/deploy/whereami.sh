#!/bin/sh
# A test service: print what imapexec told it about the connection.
echo "addr=${IMAPEXEC_REMOTE_ADDR-unset}"
echo "user=${IMAPEXEC_USER-unset}"
echo "service=${IMAPEXEC_SERVICE-unset}"
