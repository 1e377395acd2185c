/* json_guest.c: a guest built around cJSON, a well-known C library compiled unmodified with its
 * own Makefile (CC=hl-cc; see mk/examples.mk). The host sends JSON text; the guest parses it in
 * the sandbox, so a hostile document can at worst crash the sandbox, never the host. */
#include <cJSON.h>
#include <hyperlight/guest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns a malloc'd string through hlg_scratch memory (freed after the result is sent). */
static int reply_copy(char *text, hl_value *ret)
{
    size_t n = strlen(text) + 1;
    char *out = hlg_scratch(n);
    if (!out) {
        free(text);
        return hlg_fail("out of memory");
    }
    memcpy(out, text, n);
    free(text);
    *ret = hl_str(out);
    return 0;
}

/* Minify(json): the document without whitespace. */
static int minify(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    cJSON *doc = cJSON_Parse(args[0].as.str.ptr);
    if (!doc)
        return hlg_fail("not JSON (near \"%.20s\")", cJSON_GetErrorPtr());
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text ? reply_copy(text, ret) : hlg_fail("out of memory");
}

/* Sum(json, key): the sum of the numbers under `key` in every object of the array `json`. */
static int sum(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    cJSON *doc = cJSON_Parse(args[0].as.str.ptr), *item;
    if (!cJSON_IsArray(doc)) {
        cJSON_Delete(doc);
        return hlg_fail("expected a JSON array");
    }
    double total = 0;
    cJSON_ArrayForEach(item, doc)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, args[1].as.str.ptr);
        if (cJSON_IsNumber(v))
            total += v->valuedouble;
    }
    printf("summed %d objects\n", cJSON_GetArraySize(doc)); /* reaches the host's stdout */
    cJSON_Delete(doc);
    *ret = hl_f64(total);
    return 0;
}

void hlg_main(void)
{
    hlg_register("Minify", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING), minify);
    hlg_register("Sum", HL_TYPE_F64, HL_PARAMS(HL_TYPE_STRING, HL_TYPE_STRING), sum);
}
