/* output-os.h: a host's OS detection result (core/os-result.h) in each
 * format, for the writers to call where Nmap puts it: normal output after
 * the ports and the MAC address line, XML inside <host> (<os>, <uptime>,
 * <tcpsequence>, <ipidsequence>, <tcptssequence>, valid against
 * nmap.dtd), JSON as the host's "os" object. The XML and JSON writers pass
 * their own escaping functions, so escaping lives in one place each. */
#ifndef TRAWL_OUTPUT_OS_H
#define TRAWL_OUTPUT_OS_H

#include <stdio.h>

#include "core/os-result.h"
#include "core/result.h"

typedef void (*output_os_attr_fn)(FILE *f, const char *name, const char *value);
typedef void (*output_os_str_fn)(FILE *f, const char *s);

/* "Device type: ...", "Running: ...", "OS CPE: ...", "OS details: ..." or
 * "Aggressive OS guesses: ...", the fingerprint when nothing matched,
 * "Network Distance: ..."; with verbose >= 1 also the uptime guess, TCP
 * sequence prediction and IP ID sequence generation. */
void output_os_normal(FILE *f, const struct host_result *h, int verbose);
void output_os_xml(FILE *f, const struct host_result *h, output_os_attr_fn attr);
/* The JSON object (no key). */
void output_os_json(FILE *f, const struct os_result *os, output_os_str_fn str);

#endif
