/*
 * convo.wire._canonical_c: the store's fast decoder of canonical turns, in C.
 *
 * `turn(plain, memo)` builds exactly the turn that the Python fast decoder
 * (`convo.wire._canonical_fast`, for orjson plains of bytes without a
 * `\u0000` escape) builds from the same plain, or answers None and builds
 * nothing. It takes a narrower set than the Python decoder: a non-empty
 * `extra` or `metadata`, a provenance not yet interned, anything unusual at
 * all answers None, and the caller hands the plain to the Python decoder,
 * which takes it or refuses it. So this module never decides an error and
 * never accepts what the Python decoder refuses; the Hypothesis properties in
 * `tests/store/test_store_fast_decode_c.py` check both over generated and
 * tampered turns.
 *
 * Everything it knows about the value classes comes from `configure`, which
 * `convo.wire._canonical_fast` calls once with each class and the slot
 * descriptors of its fields in `FIELDS` order, the key sets, the roles, the
 * finish reasons, the provenance cache and `Usage`. Values are built the way
 * the Python decoder builds them: `object.__new__(cls)`, then each field set
 * once through its slot descriptor.
 *
 * Reference counting: every builder returns a new reference or NULL. NULL
 * means "refused"; an exception may or may not be set, and `turn` clears it.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Field indices, in the order of `FIELDS` in convo/wire/_canonical_fast.py. */
enum { TURN_ROLE, TURN_BLOCKS, TURN_MODEL, TURN_FINISH, TURN_FINISH_RAW, TURN_USAGE,
       TURN_GENERATED_FROM, TURN_METADATA, TURN_MEMO, TURN_FIELDS };
enum { TEXT_TYPE, TEXT_TEXT, TEXT_CACHE, TEXT_EXTRA, TEXT_FIELDS };
enum { REASONING_TYPE, REASONING_PARTS, REASONING_PROVENANCE, REASONING_CACHE,
       REASONING_EXTRA, REASONING_FIELDS };
enum { SUMMARY_TYPE, SUMMARY_TEXT, SUMMARY_SIGNATURE, SUMMARY_FIELDS };
enum { ENCRYPTED_TYPE, ENCRYPTED_DATA, ENCRYPTED_FIELDS };
enum { CALL_TYPE, CALL_ID, CALL_NAME, CALL_ARGUMENTS, CALL_CACHE, CALL_EXTRA,
       CALL_FIELDS };
enum { RESULT_TYPE, RESULT_CALL_ID, RESULT_CONTENT, RESULT_IS_ERROR, RESULT_SYNTHETIC,
       RESULT_CACHE, RESULT_EXTRA, RESULT_FIELDS };

#define MAX_FIELDS 9

/* The same, by name: exported as FIELDS; `_canonical_fast` uses this module only if
 * they are its own FIELDS (a field added, removed or moved there turns it off). */
static const char *const field_names[7][MAX_FIELDS + 1] = {
    {"role", "blocks", "model", "finish_reason", "finish_reason_raw", "usage",
     "generated_from", "metadata", "_memo", NULL},
    {"type", "text", "cache_control", "extra", NULL},
    {"type", "parts", "provenance", "cache_control", "extra", NULL},
    {"type", "text", "signature", NULL},
    {"type", "data", NULL},
    {"type", "id", "name", "arguments", "cache_control", "extra", NULL},
    {"type", "call_id", "content", "is_error", "synthetic", "cache_control", "extra",
     NULL},
};

typedef struct {
    PyTypeObject *cls;
    PyObject *slots[MAX_FIELDS]; /* member descriptors, FIELDS order */
} Kind;

static Kind turn_kind, text_kind, reasoning_kind, summary_kind, encrypted_kind,
    call_kind, result_kind;

static PyObject *roles;            /* tuple of role strings */
static PyObject *finish_reasons;   /* dict: value -> FinishReason */
static PyObject *provenances;      /* dict: (provider, family, model, route) -> Provenance */
static PyObject *usage_cls;
static PyObject *turn_keys, *text_keys, *reasoning_keys, *part_keys, *call_keys,
    *result_keys, *provenance_keys, *usage_keys; /* frozensets */
static int configured = 0;

/* Interned keys and constants. */
static PyObject *s_role, *s_blocks, *s_model, *s_finish_reason, *s_finish_reason_raw,
    *s_usage, *s_generated_from, *s_metadata, *s_type, *s_text, *s_extra, *s_parts,
    *s_provenance, *s_provider, *s_family, *s_route, *s_signature, *s_data, *s_id,
    *s_name, *s_arguments, *s_call_id, *s_content, *s_is_error, *s_synthetic,
    *s_reasoning, *s_tool_call, *s_tool_result, *s_summary_text,
    *s_summary_encrypted_text, *s_empty, *s_empty_object, *empty_tuple;

/* ------------------------------------------------------------------ helpers */

/* A new, empty instance of `kind`'s class: `object.__new__(cls)`. */
static PyObject *
new_value(Kind *kind)
{
    return PyBaseObject_Type.tp_new(kind->cls, empty_tuple, NULL);
}

/* Set field `index` of `value` through its slot descriptor; 0 on success. */
static inline int
set_field(Kind *kind, PyObject *value, int index, PyObject *item)
{
    PyObject *slot = kind->slots[index];
    return Py_TYPE(slot)->tp_descr_set(slot, value, item);
}

/* Whether every key of dict `plain` is in frozenset `allowed`. */
static int
keys_within(PyObject *plain, PyObject *allowed)
{
    Py_ssize_t pos = 0;
    PyObject *key, *item;
    while (PyDict_Next(plain, &pos, &key, &item)) {
        if (PySet_Contains(allowed, key) != 1) {
            return 0;
        }
    }
    return 1;
}

/* `plain[key]`, borrowed, or NULL when absent (no exception: keys are str). */
static inline PyObject *
get(PyObject *plain, PyObject *key)
{
    return PyDict_GetItemWithError(plain, key);
}

/* Whether `value` is exactly a str (not a subclass), as `type(v) is str`. */
#define IS_STR(value) PyUnicode_CheckExact(value)

static int
equals(PyObject *value, PyObject *constant)
{
    return value == constant ||
           (IS_STR(value) && PyUnicode_Compare(value, constant) == 0);
}

/* An optional text field: absent or null -> None; a str -> itself; else NULL. */
static PyObject *
optional_text(PyObject *plain, PyObject *key)
{
    PyObject *value = get(plain, key);
    if (value == NULL || value == Py_None) {
        Py_RETURN_NONE;
    }
    if (!IS_STR(value)) {
        return NULL;
    }
    return Py_NewRef(value);
}

/*
 * The `extra` (or `metadata`) of a value, for the Python decoder's
 * `_object(plain, key)`: absent -> {}; an empty object -> {}. A non-empty
 * object answers NULL: the Python decoder checks its JSON (floats included).
 */
static PyObject *
empty_object(PyObject *plain, PyObject *key)
{
    PyObject *value = get(plain, key);
    if (value != NULL && (!PyDict_CheckExact(value) || PyDict_GET_SIZE(value) != 0)) {
        return NULL;
    }
    return PyDict_New();
}

/* Set every field of a new value from `items` (new references, stolen). */
static PyObject *
build(Kind *kind, PyObject **items, int count)
{
    PyObject *value = NULL;
    for (int i = 0; i < count; i++) {
        if (items[i] == NULL) {
            goto done;
        }
    }
    value = new_value(kind);
    if (value == NULL) {
        goto done;
    }
    for (int i = 0; i < count; i++) {
        if (set_field(kind, value, i, items[i]) < 0) {
            Py_CLEAR(value);
            goto done;
        }
    }
done:
    for (int i = 0; i < count; i++) {
        Py_XDECREF(items[i]);
    }
    return value;
}

/* The values `each` builds from the items of list `plain`, as a tuple; NULL if one fails. */
static PyObject *
tuple_of(PyObject *plain, PyObject *(*each)(PyObject *))
{
    Py_ssize_t count = PyList_GET_SIZE(plain);
    PyObject *built = PyTuple_New(count);
    if (built == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = each(PyList_GET_ITEM(plain, i));
        if (item == NULL) {
            Py_DECREF(built);
            return NULL;
        }
        PyTuple_SET_ITEM(built, i, item);
    }
    return built;
}

/* ------------------------------------------------------------------- blocks */

static PyObject *
text_block(PyObject *plain)
{
    PyObject *text = get(plain, s_text);
    if (text == NULL || !IS_STR(text)) {
        return NULL;
    }
    /* Two keys: the type, read to come here, and the text. */
    Py_ssize_t size = PyDict_GET_SIZE(plain);
    if (size != 2 && !keys_within(plain, text_keys)) {
        return NULL;
    }
    PyObject *items[TEXT_FIELDS] = {
        Py_NewRef(s_text), Py_NewRef(text), Py_NewRef(Py_None),
        size == 2 ? PyDict_New() : empty_object(plain, s_extra),
    };
    return build(&text_kind, items, TEXT_FIELDS);
}

static PyObject *
part(PyObject *plain)
{
    if (!PyDict_CheckExact(plain)) {
        return NULL;
    }
    PyObject *tag = get(plain, s_type);
    if (tag == NULL) {
        return NULL;
    }
    if (equals(tag, s_summary_text) && keys_within(plain, part_keys)) {
        PyObject *text = get(plain, s_text);
        PyObject *signature = get(plain, s_signature);
        if (text == NULL) {
            text = s_empty;
        }
        if (signature == NULL) {
            signature = Py_None;
        }
        if (!IS_STR(text) || !(signature == Py_None || IS_STR(signature))) {
            return NULL;
        }
        PyObject *items[SUMMARY_FIELDS] = {
            Py_NewRef(s_summary_text), Py_NewRef(text), Py_NewRef(signature),
        };
        return build(&summary_kind, items, SUMMARY_FIELDS);
    }
    if (equals(tag, s_summary_encrypted_text) && PyDict_GET_SIZE(plain) == 2) {
        PyObject *data = get(plain, s_data);
        if (data == NULL || !IS_STR(data)) {
            return NULL;
        }
        PyObject *items[ENCRYPTED_FIELDS] = {
            Py_NewRef(s_summary_encrypted_text), Py_NewRef(data),
        };
        return build(&encrypted_kind, items, ENCRYPTED_FIELDS);
    }
    return NULL;
}

/* The interned provenance of a reasoning block; NULL when not interned yet. */
static PyObject *
provenance(PyObject *plain)
{
    PyObject *value = get(plain, s_provenance);
    if (value == NULL || value == Py_None) {
        Py_RETURN_NONE;
    }
    if (!PyDict_CheckExact(value) || !keys_within(value, provenance_keys)) {
        return NULL;
    }
    PyObject *names[4] = {s_provider, s_family, s_model, s_route};
    PyObject *key = PyTuple_New(4);
    if (key == NULL) {
        return NULL;
    }
    for (int i = 0; i < 4; i++) {
        PyObject *item = get(value, names[i]);
        PyTuple_SET_ITEM(key, i, Py_NewRef(item == NULL ? Py_None : item));
    }
    /* A key made equal to an interned one holds the same strings and Nones. */
    PyObject *found = PyDict_GetItemWithError(provenances, key);
    Py_DECREF(key);
    return found == NULL ? NULL : Py_NewRef(found);
}

static PyObject *
reasoning_block(PyObject *plain)
{
    PyObject *plain_parts = get(plain, s_parts);
    if (plain_parts == NULL || !PyList_CheckExact(plain_parts) ||
        !keys_within(plain, reasoning_keys)) {
        return NULL;
    }
    PyObject *parts = tuple_of(plain_parts, part);
    if (parts == NULL) {
        return NULL;
    }
    PyObject *items[REASONING_FIELDS] = {
        Py_NewRef(s_reasoning), parts, provenance(plain), Py_NewRef(Py_None),
        empty_object(plain, s_extra),
    };
    return build(&reasoning_kind, items, REASONING_FIELDS);
}

static PyObject *
call_block(PyObject *plain)
{
    if (!keys_within(plain, call_keys)) {
        return NULL;
    }
    PyObject *id = get(plain, s_id);
    PyObject *name = get(plain, s_name);
    PyObject *arguments = get(plain, s_arguments);
    if (arguments == NULL) {
        arguments = s_empty_object;
    }
    if (id == NULL || name == NULL || !IS_STR(id) || !IS_STR(name) ||
        !IS_STR(arguments)) {
        return NULL;
    }
    PyObject *items[CALL_FIELDS] = {
        Py_NewRef(s_tool_call), Py_NewRef(id), Py_NewRef(name),
        Py_NewRef(arguments), Py_NewRef(Py_None), empty_object(plain, s_extra),
    };
    return build(&call_kind, items, CALL_FIELDS);
}

/* A flag of a tool result: absent -> False; a bool -> itself; else NULL. */
static PyObject *
flag(PyObject *plain, PyObject *key)
{
    PyObject *value = get(plain, key);
    if (value == NULL) {
        Py_RETURN_FALSE;
    }
    return PyBool_Check(value) ? Py_NewRef(value) : NULL;
}

/* A block of a tool result's content: text only (images take the reference path). */
static PyObject *
content_block(PyObject *plain)
{
    if (!PyDict_CheckExact(plain)) {
        return NULL;
    }
    PyObject *tag = get(plain, s_type);
    return tag != NULL && equals(tag, s_text) ? text_block(plain) : NULL;
}

static PyObject *
result_block(PyObject *plain)
{
    PyObject *plain_content = get(plain, s_content);
    PyObject *call_id = get(plain, s_call_id);
    if (plain_content == NULL || call_id == NULL || !IS_STR(call_id) ||
        !keys_within(plain, result_keys)) {
        return NULL;
    }
    PyObject *content;
    if (IS_STR(plain_content)) {
        content = Py_NewRef(plain_content);
    }
    else if (PyList_CheckExact(plain_content)) {
        content = tuple_of(plain_content, content_block);
        if (content == NULL) {
            return NULL;
        }
    }
    else {
        return NULL;
    }
    PyObject *items[RESULT_FIELDS] = {
        Py_NewRef(s_tool_result), Py_NewRef(call_id), content,
        flag(plain, s_is_error), flag(plain, s_synthetic), Py_NewRef(Py_None),
        empty_object(plain, s_extra),
    };
    return build(&result_kind, items, RESULT_FIELDS);
}

/* --------------------------------------------------------------------- turn */

static PyObject *
finish_reason(PyObject *plain)
{
    PyObject *value = get(plain, s_finish_reason);
    if (value == NULL || value == Py_None) {
        Py_RETURN_NONE;
    }
    if (!IS_STR(value)) {
        return NULL;
    }
    PyObject *found = PyDict_GetItemWithError(finish_reasons, value);
    return found == NULL ? NULL : Py_NewRef(found);
}

static PyObject *
usage(PyObject *plain)
{
    PyObject *value = get(plain, s_usage);
    if (value == NULL || value == Py_None) {
        Py_RETURN_NONE;
    }
    if (!PyDict_CheckExact(value) || !keys_within(value, usage_keys)) {
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *item;
    while (PyDict_Next(value, &pos, &key, &item)) {
        if (item != Py_None && !PyLong_CheckExact(item)) {
            return NULL;
        }
    }
    return PyObject_Call(usage_cls, empty_tuple, value); /* its validators decide */
}

static int
is_role(PyObject *role)
{
    Py_ssize_t count = PyTuple_GET_SIZE(roles);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyUnicode_Compare(role, PyTuple_GET_ITEM(roles, i)) == 0) {
            return 1;
        }
    }
    return 0;
}

static PyObject *
block(PyObject *plain)
{
    if (!PyDict_CheckExact(plain)) {
        return NULL;
    }
    PyObject *tag = get(plain, s_type);
    if (tag == NULL || !IS_STR(tag)) {
        return NULL;
    }
    if (equals(tag, s_text)) {
        return text_block(plain);
    }
    if (equals(tag, s_reasoning)) {
        return reasoning_block(plain);
    }
    if (equals(tag, s_tool_call)) {
        return call_block(plain);
    }
    if (equals(tag, s_tool_result)) {
        return result_block(plain);
    }
    return NULL;
}

static PyObject *
build_turn(PyObject *plain, PyObject *memo)
{
    if (!PyDict_CheckExact(plain)) {
        return NULL;
    }
    PyObject *role = get(plain, s_role);
    PyObject *plain_blocks = get(plain, s_blocks);
    if (role == NULL || plain_blocks == NULL) {
        return NULL;
    }
    Py_ssize_t size = PyDict_GET_SIZE(plain);
    if (size != 2 && !keys_within(plain, turn_keys)) { /* 2: those two keys */
        return NULL;
    }
    if (!IS_STR(role) || !is_role(role) || !PyList_CheckExact(plain_blocks)) {
        return NULL;
    }
    PyObject *blocks = tuple_of(plain_blocks, block);
    if (blocks == NULL) {
        return NULL;
    }
    if (size == 2) { /* role and blocks only (user and tool turns, mostly) */
        PyObject *items[TURN_FIELDS] = {
            Py_NewRef(role), blocks, Py_NewRef(Py_None), Py_NewRef(Py_None),
            Py_NewRef(Py_None), Py_NewRef(Py_None), Py_NewRef(Py_None), PyDict_New(),
            Py_NewRef(memo),
        };
        return build(&turn_kind, items, TURN_FIELDS);
    }
    /* One field at a time, stopping at the first refusal: `usage` runs Python
     * code (its validators), which must not start with an exception set. */
    PyObject *items[TURN_FIELDS] = {Py_NewRef(role), blocks};
    if ((items[TURN_MODEL] = optional_text(plain, s_model)) == NULL ||
        (items[TURN_FINISH] = finish_reason(plain)) == NULL ||
        (items[TURN_FINISH_RAW] = optional_text(plain, s_finish_reason_raw)) == NULL ||
        (items[TURN_USAGE] = usage(plain)) == NULL ||
        (items[TURN_GENERATED_FROM] = optional_text(plain, s_generated_from)) == NULL ||
        (items[TURN_METADATA] = empty_object(plain, s_metadata)) == NULL) {
        for (int i = 0; i < TURN_FIELDS; i++) {
            Py_XDECREF(items[i]);
        }
        return NULL;
    }
    items[TURN_MEMO] = Py_NewRef(memo);
    return build(&turn_kind, items, TURN_FIELDS);
}

/* ------------------------------------------------------------------ module */

PyDoc_STRVAR(turn_doc,
"turn(plain, memo, /)\n--\n\n"
"The turn the Python fast decoder would build from `plain` (an orjson plain of\n"
"bytes without a NUL escape), its memo `memo`; or None, and the caller decodes\n"
"with the Python decoder. None until `configure` was called.");

static PyObject *
turn(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "turn(plain, memo) takes a plain and a dict");
        return NULL;
    }
    if (!configured) {
        Py_RETURN_NONE;
    }
    PyObject *built = build_turn(args[0], args[1]);
    if (built == NULL) {
        PyErr_Clear(); /* a refusal: the Python decoder decides */
        Py_RETURN_NONE;
    }
    return built;
}

/* Whether spec is (cls, (slot descriptor, ...)) with `fields` descriptors; 0 if so. */
static int
check_kind(PyObject *spec, Py_ssize_t fields, const char *what)
{
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 2 ||
        !PyType_Check(PyTuple_GET_ITEM(spec, 0)) ||
        !PyTuple_Check(PyTuple_GET_ITEM(spec, 1)) ||
        PyTuple_GET_SIZE(PyTuple_GET_ITEM(spec, 1)) != fields) {
        PyErr_Format(PyExc_TypeError,
                     "configure: %s must be (class, %zd slot descriptors)", what, fields);
        return -1;
    }
    PyObject *slots = PyTuple_GET_ITEM(spec, 1);
    for (Py_ssize_t i = 0; i < fields; i++) {
        if (Py_TYPE(PyTuple_GET_ITEM(slots, i))->tp_descr_set == NULL) {
            PyErr_Format(PyExc_TypeError, "configure: field %zd of %s has no setter",
                         i, what);
            return -1;
        }
    }
    return 0;
}

/* Take a spec `check_kind` accepted. */
static void
take_kind(PyObject *spec, Kind *kind, Py_ssize_t fields)
{
    PyObject *slots = PyTuple_GET_ITEM(spec, 1);
    kind->cls = (PyTypeObject *)Py_NewRef(PyTuple_GET_ITEM(spec, 0));
    for (Py_ssize_t i = 0; i < fields; i++) {
        kind->slots[i] = Py_NewRef(PyTuple_GET_ITEM(slots, i));
    }
}

PyDoc_STRVAR(configure_doc,
"configure(turn, text, reasoning, summary, encrypted, call, result, roles,\n"
"          finish_reasons, provenances, usage, keys, /)\n--\n\n"
"Each value class as (class, slot descriptors in FIELDS order); roles a tuple;\n"
"finish_reasons a dict of value to FinishReason; provenances the Python\n"
"decoder's cache dict; usage the Usage class; keys a tuple of eight frozensets\n"
"(turn, text, reasoning, part, call, result, provenance, usage keys).\n"
"A second call replaces what the first gave; a refused call changes nothing.");

/* Drop what the last `configure` took (a module reloaded configures again). */
static void
release(void)
{
    Kind *kinds[] = {&turn_kind, &text_kind, &reasoning_kind, &summary_kind,
                     &encrypted_kind, &call_kind, &result_kind};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        Py_CLEAR(kinds[k]->cls);
        for (int i = 0; i < MAX_FIELDS; i++) {
            Py_CLEAR(kinds[k]->slots[i]);
        }
    }
    PyObject **held[] = {&roles, &finish_reasons, &provenances, &usage_cls,
                         &turn_keys, &text_keys, &reasoning_keys, &part_keys,
                         &call_keys, &result_keys, &provenance_keys, &usage_keys};
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) {
        Py_CLEAR(*held[i]);
    }
    configured = 0;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *specs[7], *new_roles, *new_finish, *new_provenances, *new_usage, *keys;
    if (!PyArg_ParseTuple(args, "OOOOOOOO!O!O!OO!:configure", &specs[0], &specs[1],
                          &specs[2], &specs[3], &specs[4], &specs[5], &specs[6],
                          &PyTuple_Type, &new_roles, &PyDict_Type, &new_finish,
                          &PyDict_Type, &new_provenances, &new_usage, &PyTuple_Type,
                          &keys)) {
        return NULL;
    }
    if (PyTuple_GET_SIZE(keys) != 8) {
        PyErr_SetString(PyExc_TypeError, "configure: keys must be 8 frozensets");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < 8; i++) {
        if (!PyFrozenSet_CheckExact(PyTuple_GET_ITEM(keys, i))) {
            PyErr_SetString(PyExc_TypeError, "configure: keys must be 8 frozensets");
            return NULL;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(new_roles); i++) {
        if (!IS_STR(PyTuple_GET_ITEM(new_roles, i))) {
            PyErr_SetString(PyExc_TypeError, "configure: roles must be strings");
            return NULL;
        }
    }
    Kind *kinds[7] = {&turn_kind, &text_kind, &reasoning_kind, &summary_kind,
                      &encrypted_kind, &call_kind, &result_kind};
    const Py_ssize_t fields[7] = {TURN_FIELDS, TEXT_FIELDS, REASONING_FIELDS,
                                  SUMMARY_FIELDS, ENCRYPTED_FIELDS, CALL_FIELDS,
                                  RESULT_FIELDS};
    const char *names[7] = {"turn", "text", "reasoning", "summary",
                            "encrypted", "call", "result"};
    for (int k = 0; k < 7; k++) {
        if (check_kind(specs[k], fields[k], names[k]) < 0) {
            return NULL; /* refused before anything changed */
        }
    }
    release();
    for (int k = 0; k < 7; k++) {
        take_kind(specs[k], kinds[k], fields[k]);
    }
    roles = Py_NewRef(new_roles);
    finish_reasons = Py_NewRef(new_finish);
    provenances = Py_NewRef(new_provenances);
    usage_cls = Py_NewRef(new_usage);
    PyObject **sets[8] = {&turn_keys, &text_keys, &reasoning_keys, &part_keys,
                          &call_keys, &result_keys, &provenance_keys, &usage_keys};
    for (Py_ssize_t i = 0; i < 8; i++) {
        *sets[i] = Py_NewRef(PyTuple_GET_ITEM(keys, i));
    }
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"turn", (PyCFunction)(void (*)(void))turn, METH_FASTCALL, turn_doc},
    {"configure", configure, METH_VARARGS, configure_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "convo.wire._canonical_c",
    "The store's fast decoder of canonical turns, in C (see convo.wire._canonical_fast).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int
intern(PyObject **slot, const char *text)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__canonical_c(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } strings[] = {
        {&s_role, "role"}, {&s_blocks, "blocks"}, {&s_model, "model"},
        {&s_finish_reason, "finish_reason"}, {&s_finish_reason_raw, "finish_reason_raw"},
        {&s_usage, "usage"}, {&s_generated_from, "generated_from"},
        {&s_metadata, "metadata"}, {&s_type, "type"}, {&s_text, "text"},
        {&s_extra, "extra"}, {&s_parts, "parts"}, {&s_provenance, "provenance"},
        {&s_provider, "provider"}, {&s_family, "family"}, {&s_route, "route"},
        {&s_signature, "signature"}, {&s_data, "data"}, {&s_id, "id"},
        {&s_name, "name"}, {&s_arguments, "arguments"}, {&s_call_id, "call_id"},
        {&s_content, "content"}, {&s_is_error, "is_error"},
        {&s_synthetic, "synthetic"}, {&s_reasoning, "reasoning"},
        {&s_tool_call, "tool_call"}, {&s_tool_result, "tool_result"},
        {&s_summary_text, "summary_text"},
        {&s_summary_encrypted_text, "summary_encrypted_text"}, {&s_empty, ""},
        {&s_empty_object, "{}"},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (intern(strings[i].slot, strings[i].text) < 0) {
            return NULL;
        }
    }
    empty_tuple = PyTuple_New(0);
    if (empty_tuple == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    PyObject *fields = module == NULL ? NULL : PyTuple_New(7);
    if (fields == NULL) {
        Py_XDECREF(module);
        return NULL;
    }
    for (int k = 0; k < 7; k++) {
        Py_ssize_t count = 0;
        while (field_names[k][count] != NULL) {
            count++;
        }
        PyObject *names = PyTuple_New(count);
        if (names == NULL) {
            goto fail;
        }
        PyTuple_SET_ITEM(fields, k, names);
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *name = PyUnicode_FromString(field_names[k][i]);
            if (name == NULL) {
                goto fail;
            }
            PyTuple_SET_ITEM(names, i, name);
        }
    }
    if (PyModule_AddObject(module, "FIELDS", fields) < 0) {
        goto fail;
    }
    return module;
fail:
    Py_DECREF(fields);
    Py_DECREF(module);
    return NULL;
}
