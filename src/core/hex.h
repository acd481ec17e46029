/* hex.h: the value of one hexadecimal digit, for the parsers that read
 * \xHH escapes and hex strings (options, packet options, Nmap's data
 * files). One definition instead of one per parser. */
#ifndef TRAWL_HEX_H
#define TRAWL_HEX_H

/* 0-15, or -1 when c is not a hex digit. */
static inline int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

#endif
