/* privilege.c: the two steps of privilege.h, with capget/capset(2) called
 * directly (no libcap needed for three capabilities). After setuid() from
 * root, PR_SET_KEEPCAPS keeps the permitted set; capset then narrows it to
 * the network capabilities and makes them effective. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scan/privilege.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

struct privilege_caps {
  struct __user_cap_header_struct hdr;
  struct __user_cap_data_struct data[2]; /* capabilities 0-31, 32-63 */
};

static int privilege_get(struct privilege_caps *c) {
  memset(c, 0, sizeof *c);
  c->hdr.version = _LINUX_CAPABILITY_VERSION_3;
  return syscall(SYS_capget, &c->hdr, c->data) == 0 ? 0 : -errno;
}

static void privilege_add(struct privilege_caps *c, int cap) {
  c->data[cap / 32].effective |= 1u << (cap % 32);
  c->data[cap / 32].permitted |= 1u << (cap % 32);
}

static int privilege_set(struct privilege_caps *c) {
  c->hdr.version = _LINUX_CAPABILITY_VERSION_3;
  c->hdr.pid = 0;
  return syscall(SYS_capset, &c->hdr, c->data) == 0 ? 0 : -errno;
}

bool privilege_can_raw(void) {
  if (geteuid() == 0) return true;
  struct privilege_caps c;
  return privilege_get(&c) == 0 && (c.data[0].effective & (1u << CAP_NET_RAW));
}

int privilege_drop_keep_net(const char *user, char *err, size_t errlen) {
  struct privilege_caps have;
  int r = privilege_get(&have);
  if (r < 0) {
    snprintf(err, errlen, "cannot read the process's capabilities: %s", strerror(-r));
    return r;
  }
  if (geteuid() == 0) {
    const char *name = user ? user : "nobody";
    struct passwd *pw = getpwnam(name);
    if (!pw) {
      snprintf(err, errlen, "no such user '%s' to drop privileges to", name);
      return -ENOENT;
    }
    if (pw->pw_uid == 0) {
      snprintf(err, errlen, "--privileged-user '%s' is root: name an unprivileged user", name);
      return -EINVAL;
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
        setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
      snprintf(err, errlen, "cannot drop privileges to '%s': %s", name, strerror(errno));
      return -errno;
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  /* Keep the network capabilities the process had (all of them, as root
   * before setuid), effective; nothing else. */
  struct privilege_caps want;
  memset(&want, 0, sizeof want);
  static const int net[] = {CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF};
  for (size_t i = 0; i < sizeof net / sizeof net[0]; i++)
    if (have.data[net[i] / 32].permitted & (1u << (net[i] % 32))) privilege_add(&want, net[i]);
  if ((r = privilege_set(&want)) < 0) {
    snprintf(err, errlen, "cannot narrow capabilities to the network ones: %s", strerror(-r));
    return r;
  }
  return 0;
}

int privilege_drop_all(char *err, size_t errlen) {
  struct privilege_caps none;
  memset(&none, 0, sizeof none);
  int r = privilege_set(&none);
  if (r < 0) {
    snprintf(err, errlen, "cannot drop the network capabilities: %s", strerror(-r));
    return r;
  }
  return 0;
}
