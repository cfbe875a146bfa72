/* SPDX-License-Identifier: ISC */
/* placeholder until the module lands */
#include <stddef.h>
#include "internal.h"
