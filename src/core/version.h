/* version.h: the trawl tool's name and version as printed in output and
 * --version. Keep TRAWL_VERSION equal to project(VERSION) in CMakeLists.txt. */
#ifndef TRAWL_VERSION_H
#define TRAWL_VERSION_H

#define TRAWL_NAME "trawl"
#define TRAWL_VERSION "0.1.0"

#endif
