#include <libmount.h>
