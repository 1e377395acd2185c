/* js_modules.c: the JavaScript guest's named ES modules. Loading one compiles it (so a syntax
 * error is reported by the load) and registers it under its name; its body runs at its first use,
 * by an import, a call, or js_modules_link_all, so modules may import each other in any order,
 * cycles included. Loading a name again makes a new module for later imports and calls; modules
 * already linked keep the one they imported, and nothing else is compiled again. */
#include "js_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODULE_NAME_MAX 256
#define MODULES_MAX 4096

typedef struct js_module {
    char *name;       /* as the host named it */
    char *internal;   /* QuickJS's name: `name`, or `name@N` for its N-th version */
    JSValue compiled; /* until its body first runs (JS_UNDEFINED afterwards) */
    JSModuleDef *def;
} js_module;

static js_module *modules;
static size_t nmodules, capacity;

/* The newest module named `name` (the newest of all for ""), or NULL. */
static js_module *find(const char *name)
{
    if (!*name)
        return nmodules ? &modules[nmodules - 1] : NULL;
    for (size_t i = nmodules; i-- > 0;)
        if (strcmp(modules[i].name, name) == 0)
            return &modules[i];
    return NULL;
}

static js_module *find_internal(const char *internal)
{
    for (size_t i = 0; i < nmodules; i++)
        if (strcmp(modules[i].internal, internal) == 0)
            return &modules[i];
    return NULL;
}

/* QuickJS's normaliser: an import names a module as the host named it; it resolves to that
 * name's newest version at link time. */
static char *normalize(JSContext *ctx, const char *base, const char *name, void *opaque)
{
    (void)base, (void)opaque;
    js_module *m = find(name);
    return js_strdup(ctx, m ? m->internal : name);
}

/* Reached only for a name no loaded module has (loaded ones are found by QuickJS itself). */
static JSModuleDef *loader(JSContext *ctx, const char *name, void *opaque)
{
    (void)opaque;
    JS_ThrowReferenceError(ctx, "could not load module '%s': no module of that name is loaded",
                           name);
    return NULL;
}

static int grow(void)
{
    if (nmodules < capacity)
        return 0;
    size_t n = capacity ? capacity * 2 : 16;
    js_module *p = realloc(modules, n * sizeof *p);
    if (!p)
        return -1;
    modules = p;
    capacity = n;
    return 0;
}

static char *version_name(const char *name, size_t version)
{
    size_t n = strlen(name) + 24;
    char *s = malloc(n);
    if (s) {
        if (version == 1)
            snprintf(s, n, "%s", name);
        else
            snprintf(s, n, "%s@%zu", name, version);
    }
    return s;
}

static size_t versions_of(const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < nmodules; i++)
        n += strcmp(modules[i].name, name) == 0;
    return n;
}

int js_modules_load(const char *name, const char *source, size_t len)
{
    static int loader_set;
    if (!loader_set) {
        JS_SetModuleLoaderFunc(js_rt, normalize, loader, NULL);
        loader_set = 1;
    }
    if (!*name || strlen(name) > MODULE_NAME_MAX) {
        JS_ThrowTypeError(js_ctx, "a module name has 1 to %d bytes", MODULE_NAME_MAX);
        return -1;
    }
    if (nmodules >= MODULES_MAX || grow() != 0) {
        JS_ThrowRangeError(js_ctx, "too many modules (at most %d versions)", MODULES_MAX);
        return -1;
    }
    js_module m = {strdup(name), version_name(name, versions_of(name) + 1), JS_UNDEFINED, NULL};
    if (!m.name || !m.internal || find_internal(m.internal)) {
        free(m.name), free(m.internal);
        JS_ThrowTypeError(js_ctx, "module name '%s' is taken by a version of another", name);
        return -1;
    }
    m.compiled =
        JS_Eval(js_ctx, source, len, m.internal, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(m.compiled)) {
        free(m.name), free(m.internal);
        return -1;
    }
    m.def = JS_VALUE_GET_PTR(m.compiled);
    modules[nmodules++] = m;
    return 0;
}

/* Runs m's body (and, through its imports, theirs) if it has not run yet. */
static int link_one(js_module *m)
{
    if (JS_IsUndefined(m->compiled))
        return 0;
    JSValue compiled = m->compiled;
    m->compiled = JS_UNDEFINED;
    JSValue r = js_engine_settle(JS_EvalFunction(js_ctx, compiled));
    if (JS_IsException(r))
        return -1;
    JS_FreeValue(js_ctx, r);
    return 0;
}

int js_modules_link_all(void)
{
    for (size_t i = 0; i < nmodules; i++)
        if (link_one(&modules[i]) != 0)
            return -1;
    return 0;
}

JSValue js_modules_export(const char *module, const char *name)
{
    js_module *m = find(module);
    if (!m)
        return *module ? JS_ThrowReferenceError(js_ctx, "no module '%s' is loaded", module)
                       : JS_ThrowReferenceError(js_ctx, "no module is loaded");
    if (link_one(m) != 0)
        return JS_EXCEPTION;
    JSValue ns = JS_GetModuleNamespace(js_ctx, m->def);
    if (JS_IsException(ns))
        return ns;
    JSValue v = JS_GetPropertyStr(js_ctx, ns, name);
    JS_FreeValue(js_ctx, ns);
    return v;
}
