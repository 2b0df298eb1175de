// libkmod's API; the functions aufsctl calls are defined in kmod.c (loaded at first use).
#include <libkmod.h>
