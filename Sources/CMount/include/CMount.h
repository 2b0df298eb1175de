// libmount's API; the functions aufsctl calls are defined in mount.c (loaded at first use).
#include <libmount/libmount.h>
