/* snapshot_file.c: saving snapshots to files and loading them back (docs/SNAPSHOTS.md). */
#include "error.h"
#include "snapshot.h"

HL_API int hl_snapshot_save(const hl_snapshot *snap, const char *path)
{
    (void)snap, (void)path;
    return hl__fail(HL_EIO, "hl_snapshot_save: not implemented yet");
}

HL_API int hl_snapshot_load(const char *path, hl_snapshot **out)
{
    (void)path, (void)out;
    return hl__fail(HL_EIO, "hl_snapshot_load: not implemented yet");
}
