/* SPDX-License-Identifier: ISC */
/*
 * The responders' accept loop (see include/anvil/net.h).  A pipe as the
 * stop signal stays readable once written, so every thread polling it
 * sees the stop.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <anvil/net.h>

#include "internal.h"

int
acme_net_accept(int fd, int stop_fd, int timeout_s)
{
	struct timeval tv = { timeout_s, 0 };

	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 },
			{ stop_fd, POLLIN, 0 } };
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents != 0)
			return -1;
		if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		return c;
	}
}
