#!/bin/sh
# check_layers.sh ARCHITECTURE.md OBJ...: checks the host library's layering. The layer table in
# ARCHITECTURE.md (rows "| Ln name | file, file, ... |") is the rule: a source file may use what
# files of its own or a lower layer define, never what a higher layer defines, and the files'
# dependencies (from nm: each undefined symbol to the object that defines it) have no cycle.
# Prints each violation and exits 1; exits 0 with a one-line summary otherwise.
set -eu
doc=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^| L\([0-9]\)[^|]*| \([^|]*\) |$/\1 \2/p' "$doc" | tr -d ',' |
    awk '{ for (i = 2; i <= NF; i++) print $i, $1 }' > "$tmp/layers"
[ -s "$tmp/layers" ] || { echo "check-layers: no layer table in $doc" >&2; exit 1; }
for o in "$@"; do
    m=$(basename "$o" .o)
    nm -g --defined-only "$o" | awk -v m="$m" 'NF == 3 { print $3, m }' >> "$tmp/defs"
    nm -u "$o" | awk -v m="$m" '{ print m, $NF }' >> "$tmp/uses"
done
awk -v layers="$tmp/layers" -v defs="$tmp/defs" '
    BEGIN {
        while ((getline l < layers) > 0) { split(l, f, " "); layer[f[1]] = f[2] }
        while ((getline d < defs) > 0) { split(d, f, " "); owner[f[1]] = f[2]; mods[f[2]] = 1 }
    }
    { a = $1; b = owner[$2]; mods[a] = 1
      if (b == "" || b == a || seen[a " " b]++) next
      edge[a] = edge[a] " " b; indeg[b] += 0; outdeg[a]++
      if (layer[b] > layer[a]) { printf "check-layers: %s (L%d) uses %s of %s (L%d): upward\n", a, layer[a], $2, b, layer[b]; bad = 1 } }
    END {
        for (m in mods) if (!(m in layer)) { printf "check-layers: %s is not in the layer table\n", m; bad = 1 }
        # Kahn: repeatedly drop files that use nothing left; what remains lies on a cycle.
        n = 0; for (m in mods) { left[m] = 1; n++ }
        do {
            progress = 0
            for (m in left) {
                k = split(edge[m], e, " "); busy = 0
                for (i = 1; i <= k; i++) if (e[i] in left) busy = 1
                if (!busy) { delete left[m]; progress = 1; n-- }
            }
        } while (progress)
        cyc = ""; for (m in left) cyc = cyc " " m
        if (cyc != "") { printf "check-layers: a dependency cycle among (or on the way to it):%s\n", cyc; bad = 1 }
        if (!bad) { c = 0; for (m in mods) c++; printf "check-layers: %d files, every dependency downward, no cycle\n", c }
        exit bad
    }' "$tmp/uses"
