/* SPDX-License-Identifier: ISC */
/*
 * Functions that are too easy to misuse: unbounded copies, static
 * buffers, unchecked number parsing.  Included last by every source file
 * (through internal.h), so a use fails to compile.  Replacements:
 * snprintf with its result checked, acme_buf_*, strtol/strtoull with
 * checks, gmtime_r, mkstemp.
 */
#ifndef ANVIL_BANNED_H
#define ANVIL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_anvil

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef atoi
#define atoi(s) BANNED(atoi)
#undef atol
#define atol(s) BANNED(atol)
#undef atoll
#define atoll(s) BANNED(atoll)
#undef mktemp
#define mktemp(s) BANNED(mktemp)
#undef gets
#define gets(s) BANNED(gets)

#endif
