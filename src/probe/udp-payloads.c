/* udp-payloads.c: minimal requests per protocol, written from each
 * protocol's specification (RFC 1035 DNS, RFC 5905 NTP, RFC 1157 SNMPv1,
 * RFC 1002 NetBIOS name service, RFC 5531 ONC RPC, UPnP SSDP). */
#include "probe/udp-payloads.h"

/* DNS: query id 0x7477, no recursion, one question: root (.) NS IN. */
static const uint8_t dns_root_ns[] = {0x74, 0x77, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01};

/* NTP: version 4 client request (LI 0, VN 4, mode 3), all else zero. */
static const uint8_t ntp_client[48] = {0x23};

/* SNMPv1 GetRequest, community "public", sysDescr.0 (1.3.6.1.2.1.1.1.0). */
static const uint8_t snmp_get[] = {
    0x30, 0x29,                                     /* message */
    0x02, 0x01, 0x00,                               /* version 1 (0) */
    0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c',       /* community */
    0xa0, 0x1c,                                     /* GetRequest */
    0x02, 0x04, 0x74, 0x77, 0x6c, 0x31,             /* request id */
    0x02, 0x01, 0x00, 0x02, 0x01, 0x00,             /* error status, index */
    0x30, 0x0e, 0x30, 0x0c,                         /* varbind list, varbind */
    0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, /* OID */
    0x05, 0x00};                                    /* NULL value */

/* NetBIOS node status request for the wildcard name "*". */
static const uint8_t nbns_stat[] = {
    0x74, 0x77, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 'C', 'K',
    'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A',
    'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 0x00, 0x00, 0x21, 0x00, 0x01};

/* ONC RPC call: portmapper (100000) version 2, procedure 0 (NULL), no auth. */
static const uint8_t rpc_null[] = {0x74, 0x77, 0x72, 0x70, 0, 0, 0, 0, 0, 0, 0, 2,
                                   0, 1, 0x86, 0xa0, 0, 0, 0, 2, 0, 0, 0, 0,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static const uint8_t ssdp_search[] = "M-SEARCH * HTTP/1.1\r\n"
                                     "HOST: 239.255.255.250:1900\r\n"
                                     "MAN: \"ssdp:discover\"\r\n"
                                     "MX: 1\r\n"
                                     "ST: ssdp:all\r\n\r\n";

static const uint8_t line[] = "trawl\r\n";

static const struct {
  uint16_t port;
  const uint8_t *data;
  size_t len;
} payloads[] = {
    {7, line, sizeof line - 1},
    {53, dns_root_ns, sizeof dns_root_ns},
    {111, rpc_null, sizeof rpc_null},
    {123, ntp_client, sizeof ntp_client},
    {137, nbns_stat, sizeof nbns_stat},
    {161, snmp_get, sizeof snmp_get},
    {1900, ssdp_search, sizeof ssdp_search - 1},
    {5353, dns_root_ns, sizeof dns_root_ns},
};

const uint8_t *udp_payload(uint16_t port, size_t *len) {
  for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++)
    if (payloads[i].port == port) {
      *len = payloads[i].len;
      return payloads[i].data;
    }
  *len = 0;
  return (const uint8_t *)"";
}
