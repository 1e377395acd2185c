/* js_modules.c: the JavaScript guest's named ES modules. Loading one compiles it, so a syntax
 * error is reported by the load; QuickJS also finds every module it imports while compiling, so a
 * module whose imports are not loaded yet waits (its source kept) and compiles when it is first
 * imported or used, or at js_modules_link_all: modules may be loaded in any order, cycles
 * included. A module's body runs at its first use. Loading a name again makes a new module for
 * later imports and calls; modules already compiled keep the one they imported, and nothing else
 * is compiled again. */
#include "js_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODULE_NAME_MAX HL_JS_MODULE_NAME_MAX
#define MODULES_MAX 4096

typedef struct js_module {
    char *name;     /* as the host named it */
    char *internal; /* QuickJS's name: `name`, or `name@N` for its N-th version */
    char *source;   /* until it compiles */
    size_t len;
    JSModuleDef *def; /* once compiled (the context's module list holds it) */
    int ran;          /* its body has run to completion: later uses need not ask QuickJS */
} js_module;

static js_module *modules;
static size_t nmodules, capacity;
/* Set by the loader when a compile needed a module nobody has loaded (yet). */
static int missing_import;

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

static void free_module(js_module *m)
{
    free(m->name), free(m->internal), free(m->source);
}

/* Compiles m (not run). 0, or -1 with an exception pending. */
static int compile(js_module *m)
{
    JSValue v = JS_Eval(js_ctx, m->source, m->len, m->internal,
                        JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(v))
        return -1;
    m->def = JS_VALUE_GET_PTR(v);
    JS_FreeValue(js_ctx, v);
    free(m->source);
    m->source = NULL;
    return 0;
}

/* QuickJS asks for a module its list does not have: one waiting to compile, or none. */
static JSModuleDef *loader(JSContext *ctx, const char *internal, void *opaque)
{
    (void)opaque;
    js_module *m = find_internal(internal);
    if (m && !m->def)
        return compile(m) == 0 ? m->def : NULL;
    if (m)
        return m->def;
    missing_import = 1;
    JS_ThrowReferenceError(ctx, "could not load module '%s': no module of that name is loaded",
                           internal);
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

/* A new entry for module `name`, its source copied; NULL with an exception pending. */
static js_module *add(const char *name, const char *source, size_t len)
{
    if (!*name || strlen(name) > MODULE_NAME_MAX) {
        JS_ThrowTypeError(js_ctx, "a module name has 1 to %d bytes", MODULE_NAME_MAX);
        return NULL;
    }
    if (nmodules >= MODULES_MAX || grow() != 0) {
        JS_ThrowRangeError(js_ctx, "too many modules (at most %d versions)", MODULES_MAX);
        return NULL;
    }
    js_module m = {
        strdup(name), version_name(name, versions_of(name) + 1), malloc(len + 1), len, NULL, 0};
    if (!m.name || !m.internal || !m.source) {
        free_module(&m);
        JS_ThrowOutOfMemory(js_ctx);
        return NULL;
    }
    if (find_internal(m.internal)) {
        free_module(&m);
        JS_ThrowTypeError(js_ctx, "module name '%s' is taken by a version of another", name);
        return NULL;
    }
    memcpy(m.source, source, len);
    m.source[len] = 0; /* JS_Eval needs it */
    modules[nmodules] = m;
    return &modules[nmodules++];
}

int js_modules_load(const char *name, const char *source, size_t len)
{
    static int loader_set;
    if (!loader_set) {
        JS_SetModuleLoaderFunc(js_rt, normalize, loader, NULL);
        loader_set = 1;
    }
    js_module *m = add(name, source, len);
    if (!m)
        return -1;
    missing_import = 0;
    if (compile(m) == 0)
        return 0;
    if (missing_import) { /* it parsed: it waits for what it imports */
        JS_FreeValue(js_ctx, JS_GetException(js_ctx));
        return 0;
    }
    free_module(m);
    nmodules--;
    return -1;
}

/* Compiles m if it waits, then runs its body (and, through its imports, theirs) if not yet. */
static int run_one(js_module *m)
{
    if (m->ran)
        return 0;
    if (!m->def && compile(m) != 0)
        return -1;
    /* after a body that threw, this returns its rejected promise again: it throws at every use */
    JSValue mod = JS_DupValue(js_ctx, JS_MKPTR(JS_TAG_MODULE, m->def));
    JSValue r = js_engine_settle(JS_EvalFunction(js_ctx, mod));
    if (JS_IsException(r))
        return -1;
    JS_FreeValue(js_ctx, r);
    m->ran = 1;
    return 0;
}

/* The newest version of each name (an older one runs only for the modules that imported it). A
 * body that throws, or a module whose import is still missing, fails only its own uses: each
 * throws that error again, while the other modules go on working. */
int js_modules_link_all(void)
{
    for (size_t i = 0; i < nmodules; i++)
        if (find(modules[i].name) == &modules[i] && run_one(&modules[i]) != 0)
            JS_FreeValue(js_ctx, JS_GetException(js_ctx));
    return 0;
}

const char *js_modules_name(const char *module)
{
    js_module *m = find(module);
    return m ? m->name : module;
}

JSValue js_modules_export(const char *module, const char *name)
{
    js_module *m = find(module);
    if (!m)
        return *module ? JS_ThrowReferenceError(js_ctx, "no module '%s' is loaded", module)
                       : JS_ThrowReferenceError(js_ctx, "no module is loaded");
    if (run_one(m) != 0)
        return JS_EXCEPTION;
    JSValue ns = JS_GetModuleNamespace(js_ctx, m->def);
    if (JS_IsException(ns))
        return ns;
    JSValue v = JS_GetPropertyStr(js_ctx, ns, name);
    JS_FreeValue(js_ctx, ns);
    return v;
}
