/*
 * The client's address, as the launcher tells it.
 */
#ifndef IMAPEXEC_PEER_H
#define IMAPEXEC_PEER_H

#include <stddef.h>

/*
 * peer_addr(buf, len):
 * Store the client's address in ${buf} of ${len} bytes, from TCPREMOTEIP
 * (ucspi-tcp), REMOTE_ADDR, REMOTE_HOST, SSH_CONNECTION's first field or
 * getpeername(2) on fd 0, in that order; "" if none says.
 */
void	peer_addr(char *, size_t);

#endif /* !IMAPEXEC_PEER_H */
