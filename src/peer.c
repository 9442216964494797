/*
 * The client's address, as the launcher tells it.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

/*
 * peer_addr(buf, len):
 * Store the client's address in ${buf} of ${len} bytes, from TCPREMOTEIP
 * (ucspi-tcp), REMOTE_ADDR, REMOTE_HOST, SSH_CONNECTION's first field or
 * getpeername(2) on fd 0, in that order; "" if none says.
 */
void
peer_addr(char *buf, size_t len)
{
	static const char *vars[] = { "TCPREMOTEIP", "REMOTE_ADDR",
	    "REMOTE_HOST" };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *v;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if ((v = getenv(vars[i])) != NULL && *v != '\0') {
			(void)strlcpy(buf, v, len);
			return;
		}
	if ((v = getenv("SSH_CONNECTION")) != NULL && *v != '\0') {
		(void)strlcpy(buf, v, len);
		buf[strcspn(buf, " ")] = '\0';
		return;
	}
	if (getpeername(0, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET)
		(void)inet_ntop(AF_INET,
		    &((struct sockaddr_in *)&ss)->sin_addr, buf, (socklen_t)len);
	else if (ss.ss_family == AF_INET6)
		(void)inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr, buf,
		    (socklen_t)len);
	else if (ss.ss_family == AF_UNIX)
		(void)strlcpy(buf, "local", len);
}
