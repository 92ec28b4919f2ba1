import GRDB

extension HistoryDatabase {
    /// Keeps the audit table at `entries` rows or fewer on every insert, not only when the
    /// recorder prunes (every 10 minutes, long enough for a looping client to add millions):
    /// a trigger deletes, after each insert, the rows `entries` ids or more below it. Ids are
    /// AUTOINCREMENT, so that is a primary-key range — at most the rows over the cap, usually
    /// one — and bounded work per insert. Replaces a cap set before (a new `--db` policy), and
    /// trims the table to it now.
    public func capAudit(keeping entries: Int) throws(HistoryError) {
        precondition(entries > 0)
        do {
            try pool.write { db in
                // A trigger takes no parameters; `entries` is an Int, so the text is a number.
                try db.execute(sql: """
                    DROP TRIGGER IF EXISTS audit_event_cap;
                    CREATE TRIGGER audit_event_cap AFTER INSERT ON audit_event BEGIN
                        DELETE FROM audit_event WHERE id <= NEW.id - \(entries);
                    END;
                    DELETE FROM audit_event WHERE id <= (SELECT max(id) FROM audit_event) - \(entries);
                    """)
            }
        } catch {
            throw .writeFailed(Self.reason(error))
        }
    }
}
