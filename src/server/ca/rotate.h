/* SPDX-License-Identifier: ISC */
/*
 * The lifetimes of the CA's own certificates (D72): warnings when the
 * intermediate or the listener certificate nears its end, and
 * "anvil-ca rotate", which re-signs one of them.
 */
#ifndef ANVIL_ROTATE_H
#define ANVIL_ROTATE_H

#include <time.h>

#include "../conf.h"

/* Days before notAfter from which a certificate is warned about. */
#define ROTATE_WARN_DAYS 30

/*
 * Logs one line for cfg's intermediate and listener certificates each
 * when it expires within ROTATE_WARN_DAYS of now (warn) or has expired
 * (error), naming "anvil-ca rotate".  Returns how many lines it logged.
 */
int rotate_warn(const struct conf *cfg, time_t now);

/*
 * "anvil-ca rotate intermediate|tls -c FILE": re-signs the certificate
 * for the same key, subject and names with a new validity, from the
 * root key (the intermediate, or a listener certificate the root
 * signed) or the listener CA's key (tls/ca.key beside tls_cert).  When
 * that key is not on this host it prints a CSR to standard output for
 * the operator to have signed.  Returns the exit status.
 */
int rotate_main(int argc, char **argv);

#endif
