/* privilege.h: giving up root in two steps, so that nothing from the
 * network or from a script file is ever parsed with root's powers.
 *
 *   as root      options parsed, output files opened (nothing truncated)
 *   step 1       privilege_drop_keep_net(): the process becomes the
 *                unprivileged user (--privileged-user, default "nobody")
 *                and keeps only CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF —
 *                what raw sockets, packet rings and the kernel filter need
 *   as the user  scripts load (their top-level code runs), names resolve
 *                (c-ares reads DNS replies), raw sockets and captures open
 *   step 2       privilege_drop_all(): no capability is left at all
 *   as the user  the scan: every packet is parsed here
 *
 * Started without root but with file capabilities (setcap
 * cap_net_raw,cap_net_admin+eip trawl), step 1 only narrows the set and
 * step 2 empties it. Errors: one line in err, a negative errno returned. */
#ifndef TRAWL_SCAN_PRIVILEGE_H
#define TRAWL_SCAN_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>

/* Raw packets are possible: root, or CAP_NET_RAW in the effective set. */
bool privilege_can_raw(void);

/* Step 1. user: a user name (NULL: "nobody"); it must not be root. */
int privilege_drop_keep_net(const char *user, char *err, size_t errlen);

/* Step 2. */
int privilege_drop_all(char *err, size_t errlen);

#endif
