/*
 * convo._graph_c: a turn's node in its place, id included, in C.
 *
 * `node(parent, turn, depth)` builds exactly the `Node` that
 * `convo._graph._node(compute_turn_id(parent, turn), turn, parent, depth)`
 * builds, or answers None and builds nothing; then the caller builds it in
 * Python. It answers only when the turn's canonical bytes are memoised (as
 * every turn a load decodes has them) and the parent is None or an ASCII
 * string, which is all `compute_turn_id` needs to hash the same bytes:
 *
 *     b'{"parent":' + (b'null' or b'"' + parent + b'"') + b',"turn":'
 *     + canonical bytes + b'}'
 *
 * with blake2b (digest size 32, Python's own, through `hashlib`), the id
 * being "b2:" + its hex digest. `tests/test_graph_c.py` checks it against the
 * Python path on generated conversations, odd parents and odd memos.
 *
 * It saves a load about half of what building a node cost in Python (the
 * hashing itself is the other half): one call instead of six.
 *
 * Everything it knows comes from `configure` (called once by convo._graph):
 * the Node class and its four slot descriptors, the Turn's memo descriptor,
 * the memo key of canonical bytes and the blake2b constructor.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Node's fields, in the order `configure` takes their slot descriptors. */
enum { NODE_ID, NODE_TURN, NODE_PARENT, NODE_DEPTH, NODE_FIELDS };

static PyTypeObject *node_cls;
static PyObject *node_slots[NODE_FIELDS];
static PyObject *memo_slot;     /* Turn._memo's descriptor */
static PyObject *canonical_key; /* the memo key of a turn's canonical bytes */
static PyObject *blake2b;       /* hashlib.blake2b */
static int configured = 0;

static PyObject *digest_size, *digest_size_name, *s_update, *s_hexdigest;
static PyObject *root_head, *closing, *id_prefix, *empty_tuple;

#define HEAD_OPEN "{\"parent\":\""
#define HEAD_CLOSE "\",\"turn\":"

/* The bytes hashed before the turn's: the parent part of the id's document. */
static PyObject *
head(PyObject *parent)
{
    if (parent == Py_None) {
        return Py_NewRef(root_head);
    }
    Py_ssize_t size = PyUnicode_GET_LENGTH(parent);
    Py_ssize_t open = sizeof HEAD_OPEN - 1, close = sizeof HEAD_CLOSE - 1;
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, open + size + close);
    if (bytes == NULL) {
        return NULL;
    }
    char *out = PyBytes_AS_STRING(bytes);
    memcpy(out, HEAD_OPEN, open);
    memcpy(out + open, PyUnicode_1BYTE_DATA(parent), size); /* ASCII: one byte each */
    memcpy(out + open + size, HEAD_CLOSE, close);
    return bytes;
}

/* "b2:" + the hex blake2b-256 of head + data + "}", as `compute_turn_id`. */
static PyObject *
turn_id(PyObject *parent, PyObject *data)
{
    PyObject *start = head(parent);
    if (start == NULL) {
        return NULL;
    }
    PyObject *args[2] = {start, digest_size}; /* blake2b(start, digest_size=32) */
    PyObject *hash = PyObject_Vectorcall(blake2b, args, 1, digest_size_name);
    Py_DECREF(start);
    if (hash == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_CallMethodOneArg(hash, s_update, data);
    if (result != NULL) {
        Py_DECREF(result);
        result = PyObject_CallMethodOneArg(hash, s_update, closing);
    }
    PyObject *hex = NULL;
    if (result != NULL) {
        Py_DECREF(result);
        hex = PyObject_CallMethodNoArgs(hash, s_hexdigest);
    }
    Py_DECREF(hash);
    if (hex == NULL) {
        return NULL;
    }
    PyObject *id = PyUnicode_Concat(id_prefix, hex);
    Py_DECREF(hex);
    return id;
}

/* The turn's memoised canonical bytes (borrowed), or NULL when it has none. */
static PyObject *
canonical_bytes(PyObject *turn)
{
    PyObject *memo = Py_TYPE(memo_slot)->tp_descr_get(memo_slot, turn, NULL);
    if (memo == NULL) {
        return NULL;
    }
    PyObject *data = NULL;
    if (PyDict_CheckExact(memo)) {
        data = PyDict_GetItemWithError(memo, canonical_key);
    }
    Py_DECREF(memo); /* the turn holds the memo, and the memo the bytes */
    return data != NULL && PyBytes_CheckExact(data) ? data : NULL;
}

PyDoc_STRVAR(node_doc,
"node(parent, turn, depth, /)\n--\n\n"
"The Node convo._graph builds for `turn` under `parent` at `depth`, its id\n"
"computed; or None (no canonical bytes memoised, a parent that is not an\n"
"ASCII str, not configured), and the caller builds it in Python.");

static PyObject *
node(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "node(parent, turn, depth) takes 3 arguments");
        return NULL;
    }
    PyObject *parent = args[0], *turn = args[1], *depth = args[2];
    if (!configured ||
        !(parent == Py_None || (PyUnicode_CheckExact(parent) && PyUnicode_IS_ASCII(parent))) ||
        !PyObject_TypeCheck(turn, PyDescr_TYPE(memo_slot))) {
        Py_RETURN_NONE;
    }
    PyObject *data = canonical_bytes(turn);
    if (data == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    Py_INCREF(data); /* hashing runs Python-level calls: keep the bytes alive */
    PyObject *id = turn_id(parent, data);
    Py_DECREF(data);
    if (id == NULL) {
        return NULL; /* hashlib failed (memory): as the Python path would */
    }
    PyObject *built = PyBaseObject_Type.tp_new(node_cls, empty_tuple, NULL);
    PyObject *items[NODE_FIELDS] = {id, turn, parent, depth};
    for (int i = 0; built != NULL && i < NODE_FIELDS; i++) {
        PyObject *slot = node_slots[i];
        if (Py_TYPE(slot)->tp_descr_set(slot, built, items[i]) < 0) {
            Py_CLEAR(built);
        }
    }
    Py_DECREF(id);
    return built;
}

PyDoc_STRVAR(configure_doc,
"configure(node, slots, memo, canonical, blake2b, /)\n--\n\n"
"node: the Node class; slots: its id, turn, parent and depth slot descriptors;\n"
"memo: Turn's _memo slot descriptor; canonical: the memo key of canonical bytes;\n"
"blake2b: hashlib.blake2b. A refused call changes nothing; another call\n"
"replaces what the last one gave.");

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *cls, *slots, *memo, *key, *hasher;
    if (!PyArg_ParseTuple(args, "O!O!OUO:configure", &PyType_Type, &cls, &PyTuple_Type,
                          &slots, &memo, &key, &hasher)) {
        return NULL;
    }
    if (PyTuple_GET_SIZE(slots) != NODE_FIELDS) {
        PyErr_SetString(PyExc_TypeError, "configure: Node takes 4 slot descriptors");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < NODE_FIELDS; i++) {
        if (Py_TYPE(PyTuple_GET_ITEM(slots, i))->tp_descr_set == NULL) {
            PyErr_SetString(PyExc_TypeError, "configure: a Node slot has no setter");
            return NULL;
        }
    }
    if (!PyObject_TypeCheck(memo, &PyMemberDescr_Type)) {
        PyErr_SetString(PyExc_TypeError, "configure: memo must be Turn's _memo slot");
        return NULL;
    }
    if (!PyCallable_Check(hasher)) {
        PyErr_SetString(PyExc_TypeError, "configure: blake2b must be callable");
        return NULL;
    }
    Py_XSETREF(node_cls, (PyTypeObject *)Py_NewRef(cls));
    for (Py_ssize_t i = 0; i < NODE_FIELDS; i++) {
        Py_XSETREF(node_slots[i], Py_NewRef(PyTuple_GET_ITEM(slots, i)));
    }
    Py_XSETREF(memo_slot, Py_NewRef(memo));
    Py_XSETREF(canonical_key, Py_NewRef(key));
    Py_XSETREF(blake2b, Py_NewRef(hasher));
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"node", (PyCFunction)(void (*)(void))node, METH_FASTCALL, node_doc},
    {"configure", configure, METH_VARARGS, configure_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "convo._graph_c",
    "A turn's node in its place, id included, in C (see convo._graph).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__graph_c(void)
{
    digest_size = PyLong_FromLong(32);
    digest_size_name = Py_BuildValue("(s)", "digest_size");
    s_update = PyUnicode_InternFromString("update");
    s_hexdigest = PyUnicode_InternFromString("hexdigest");
    root_head = PyBytes_FromString("{\"parent\":null,\"turn\":");
    closing = PyBytes_FromString("}");
    id_prefix = PyUnicode_FromString("b2:");
    empty_tuple = PyTuple_New(0);
    if (digest_size == NULL || digest_size_name == NULL || s_update == NULL || s_hexdigest == NULL ||
        root_head == NULL || closing == NULL || id_prefix == NULL ||
        empty_tuple == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    /* The fields `configure` takes slots for, in order: convo._graph checks them. */
    PyObject *fields = Py_BuildValue("(ssss)", "id", "turn", "parent", "depth");
    if (fields == NULL || PyModule_AddObject(module, "FIELDS", fields) < 0) {
        Py_XDECREF(fields);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
