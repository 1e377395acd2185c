/* otherguest.c: a second, tiny test guest. Its snapshots must never fit a simpleguest sandbox
 * (tests/kvm/test_snapshots.c). It has simpleguest's Echo, AddToStatic and GetStatic with the
 * same signatures, so only the guest's identity tells the two apart. */
#include <hyperlight/guest.h>

#include "common.h"

void hlg_main(void)
{
    hlg_register("Echo", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING), echo);
    hlg_register("AddToStatic", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), add_to_static);
    hlg_register("GetStatic", HL_TYPE_I32, NULL, 0, get_static);
}
