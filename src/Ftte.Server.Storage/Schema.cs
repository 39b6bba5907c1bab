namespace Ftte.Server.Storage;

/// <summary>The store's tables. Bump <see cref="Version"/> (and add a migration) whenever this text changes.</summary>
internal static class Schema
{
    /// <summary>PRAGMA user_version of stores this build writes and reads.</summary>
    public const int Version = 3;

    /// <summary>PRAGMA application_id: "FTTE" in ASCII, so another program's SQLite file is recognised as foreign.</summary>
    public const int ApplicationId = 0x46545445;

    // Times are UTC ticks (INTEGER, exact). Doubles are nullable REAL: SQLite has no NaN, so NaN is stored as NULL.
    // Task states are stored by name so the sqlite3 shell shows them and enum reordering cannot corrupt them.
    public const string Create = """
        CREATE TABLE run (
            id            INTEGER PRIMARY KEY CHECK (id = 1),
            run_id        TEXT    NOT NULL,
            config_json   TEXT    NOT NULL,
            secret_hash   BLOB    NOT NULL,
            created_at    INTEGER NOT NULL
        );
        CREATE TABLE devices (
            id            INTEGER PRIMARY KEY,
            name          TEXT    NOT NULL,
            tier          TEXT    NOT NULL,
            memory_bytes  INTEGER NOT NULL,
            flops         REAL,
            down_bps      REAL,
            up_bps        REAL,
            latency_s     REAL,
            train_samples INTEGER NOT NULL,
            token_hash    BLOB    NOT NULL,
            token_expires INTEGER NOT NULL,
            enrolled_at   INTEGER NOT NULL,
            last_seen     INTEGER NOT NULL
        );
        CREATE TABLE versions (
            version       INTEGER PRIMARY KEY,
            created_at    INTEGER NOT NULL,
            weights       BLOB    NOT NULL,
            strategy_state TEXT
        );
        CREATE TABLE tasks (
            task_id       INTEGER PRIMARY KEY,
            device_id     INTEGER NOT NULL REFERENCES devices(id),
            base_version  INTEGER NOT NULL,
            trainable     TEXT    NOT NULL,
            spec_json     TEXT    NOT NULL,
            state         TEXT    NOT NULL,
            dispatched_at INTEGER NOT NULL,
            detail        TEXT,
            state_at      INTEGER NOT NULL
        );
        CREATE INDEX tasks_state ON tasks(state);
        CREATE TABLE pending (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id       INTEGER NOT NULL UNIQUE REFERENCES tasks(task_id),
            device_id     INTEGER NOT NULL REFERENCES devices(id),
            base_version  INTEGER NOT NULL,
            staleness     INTEGER NOT NULL,
            samples       INTEGER NOT NULL,
            train_loss    REAL,
            train_acc     REAL,
            received_at   REAL,
            trainable     TEXT    NOT NULL,
            delta_length  INTEGER NOT NULL,
            delta         BLOB    NOT NULL
        );
        CREATE TABLE applied_updates (
            task_id            INTEGER PRIMARY KEY REFERENCES tasks(task_id),
            device_id          INTEGER NOT NULL REFERENCES devices(id),
            base_version       INTEGER NOT NULL,
            staleness          INTEGER NOT NULL,
            samples            INTEGER NOT NULL,
            applied_in_version INTEGER NOT NULL
        );
        CREATE TABLE upload_chunks (
            task_id       INTEGER NOT NULL REFERENCES tasks(task_id),
            offset        INTEGER NOT NULL,
            data          BLOB    NOT NULL,
            PRIMARY KEY (task_id, offset)
        ) WITHOUT ROWID;
        CREATE TABLE metrics (
            seq              INTEGER PRIMARY KEY AUTOINCREMENT,
            time             REAL,
            version          INTEGER NOT NULL,
            test_accuracy    REAL,
            test_loss        REAL,
            updates_accepted INTEGER NOT NULL,
            updates_refused  INTEGER NOT NULL,
            bytes_down       INTEGER NOT NULL,
            bytes_up         INTEGER NOT NULL,
            devices_online   INTEGER NOT NULL,
            epsilon          REAL
        );
        CREATE TABLE refusals (
            reason        TEXT    PRIMARY KEY,
            count         INTEGER NOT NULL
        ) WITHOUT ROWID;
        """ + UpdateRms;

    /// <summary>The RMS value of each accepted update per trainable set (the outlier test's history), the newest kept.</summary>
    private const string UpdateRms = """

        CREATE TABLE update_rms (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            trainable     TEXT    NOT NULL,
            rms           REAL    NOT NULL
        );
        CREATE INDEX update_rms_by_set ON update_rms (trainable, seq);
        """;

    /// <summary>Migrations: the statements that take a store from version v to v + 1 (index v − 1).</summary>
    public static readonly string[] Migrations =
    [
        // 1 → 2: the strategy's state saved with each version (the DP accountant), ε with each metric.
        """
        ALTER TABLE versions ADD COLUMN strategy_state TEXT;
        ALTER TABLE metrics ADD COLUMN epsilon REAL;
        """,
        // 2 → 3: the outlier test's history, so a restarted server judges updates from the first one.
        UpdateRms,
    ];
}
