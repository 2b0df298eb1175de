// libblkid's API; the functions aufsctl calls are defined in blkid.c (loaded at first use).
#include <blkid/blkid.h>
