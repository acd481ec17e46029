/* nse.h: what trawl needs to run Nmap's own NSE scripts, unmodified, from
 * Debian's nmap-common (/usr/share/nmap): where Nmap's files are
 * (nse-dirs.c), Nmap's scripts/script.db (nse-db.c: the categories of
 * Nmap's scripts, read without running any script), and the Lua side
 * (nse-nmap.c and nse-nmap.lua: the `nmap` module, package.path for
 * nselib/, package.cpath for lpeg and lfs, the openssl hook). Used by the
 * script engine (script-select.c, script-loader.c, script-engine.c). */
#ifndef TRAWL_NSE_H
#define TRAWL_NSE_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

struct script_engine;

/* ---- nse-db.c: scripts/script.db ------------------------------------------ */

/* One line `Entry { filename = "x.nse", categories = { "a", "b", } }`. */
struct nse_db_entry {
  char *id;        /* the file name without ".nse" */
  char **cats;
  size_t ncat;
};

struct nse_db {
  struct nse_db_entry *v;
  size_t n;
};

/* Parse script.db's text (len bytes, need not end in NUL). Lines that do
 * not have the shape above are an error naming the line (0 or -EINVAL
 * with err); an empty text is an empty db. */
int nse_db_parse(const char *text, size_t len, struct nse_db *db, char *err, size_t errlen);
/* Read and parse a file: 0, -errno (err set), or -EINVAL. */
int nse_db_read(const char *path, struct nse_db *db, char *err, size_t errlen);
const struct nse_db_entry *nse_db_find(const struct nse_db *db, const char *id);
void nse_db_free(struct nse_db *db);

/* ---- nse-dirs.c: where Nmap's files are ------------------------------------- */

/* Nmap's data directory: $TRAWL_NMAPDIR if set, else /usr/share/nmap; into
 * out ("" when it has no scripts/ directory: nmap-common is missing). */
void nse_dirs_find(char *out, size_t len);
/* The one error line for "Nmap's scripts were asked for, but nmap-common
 * is not installed". */
#define NSE_MISSING_MSG "Nmap's NSE scripts are not installed (install the Debian package nmap-common, or set TRAWL_NMAPDIR)"

/* ---- nse-nmap.c: the Lua side -------------------------------------------------- */

/* Register package.preload.nmap (nse-nmap.lua over the trawl module),
 * package.preload.openssl (nse_openssl_open when built in, else a loader
 * that fails with "module 'openssl' not available"), and append Nmap's
 * nselib/ to package.path and lpeg/lfs's directory to package.cpath.
 * nmapdir may be "" (nothing Nmap's is added). After lua_trawl_open. */
void nse_nmap_open(struct script_engine *e, lua_State *L, const char *nmapdir);

/* ---- nse-pcap.c: socket:pcap_open / pcap_receive on trawl's captures ------------- */

/* Set pcap_open in the table on top of L (nse-nmap.lua's C helpers):
 * C.pcap_open(device, snaplen, promisc, bpf) -> an object with
 * receive(timeout_ms) and close(). */
void nse_pcap_register(struct script_engine *e, lua_State *L);

/* The colleague's openssl module (src/script/nse/nse-openssl.c): sets
 * package.preload.openssl. Called only when that file is built in
 * (CMake defines TW_HAVE_NSE_OPENSSL when it exists). */
void nse_openssl_open(lua_State *L);

/* The module name in a Lua "module 'x' not found" error message, into
 * out; false when the message is about something else. */
bool nse_missing_module(const char *msg, char *out, size_t len);

/* nse-require.lua (trawl's scripts' require), embedded likewise. */
extern const char nse_require_lua[];
extern const size_t nse_require_lua_len;
/* nse-nmap.lua, embedded at build time (cmake/embed.cmake). */
extern const char nse_nmap_lua[];
extern const size_t nse_nmap_lua_len;

#endif
