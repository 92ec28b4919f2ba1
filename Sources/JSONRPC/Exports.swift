// JSONRPC's API is made of LockJSON's types (`JSONValue` in params, results and errors), so a
// client that imports JSONRPC sees them without importing LockJSON as well.
@_exported import LockJSON
