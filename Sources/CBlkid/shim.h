#include <blkid.h>
