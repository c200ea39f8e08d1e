"""search indexes: the queue's free text off a trigram index, the red-light filter off one index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

`escalation_search` holds, per escalation, the four texts the queue's search box matches
(project code, project name, milestone name, responsible official's name) joined by U+001F
into one `haystack`, indexed by trigrams: an FTS5 table with the trigram tokenizer on SQLite
(rowid = escalation id), a table with a pg_trgm GIN index on PostgreSQL (lower-cased there,
so one LIKE replaces four ILIKEs: 12 ms instead of 150 ms for a scan of 50,000 rows). Triggers keep it in step with escalations,
projects, milestones and persons whatever writes them, and fire only when one of those
texts (or the link behind one) really changes, so an import that changes nothing pays
nothing. `board/escalation_queue.py` reads it.

Milestones: `completed_on` is indexed only where set (its users ask for ranges), so the
planner can no longer take `completed_on IS NULL` as a selective index walk, and
`(status, due_date, project_id)` carries `completed_on`, so "has an open overdue node"
is answered from that index alone. Projects: the few with a schedule (recurring tasks, which
every scan looks up) have a partial index of their own.
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# the texts of one escalation, by the ids a trigger knows (responsible: the milestone's own
# owner, else the project's owner, as models.responsible_person_id says); U+001F between
# them, so a needle without it never matches across two texts
SOURCE_VIEW = """
CREATE VIEW escalation_search_source AS
SELECT e.id AS escalation_id, e.milestone_id AS milestone_id, m.project_id AS project_id,
       {fold}(p.code || {sep} || p.name || {sep} || m.name || {sep} || coalesce(r.name, '')) AS haystack
FROM escalations e
JOIN milestones m ON m.id = e.milestone_id
JOIN projects p ON p.id = m.project_id
LEFT JOIN persons r ON r.id = coalesce(m.owner_id, p.owner_id)
"""

# the milestones whose responsible official is person :pid
RESPONSIBLE_FOR = (
    "SELECT id FROM milestones WHERE owner_id = {pid}"
    " UNION ALL SELECT m.id FROM projects p JOIN milestones m ON m.project_id = p.id"
    " WHERE p.owner_id = {pid} AND m.owner_id IS NULL"
)

# trigger name -> (table and event, WHEN condition or None, which escalations to refresh)
TRIGGERS = {
    'escalation_search_escalation_insert': ('INSERT ON escalations', None, 'escalation_id = NEW.id'),
    'escalation_search_escalation_move': (
        'UPDATE OF milestone_id ON escalations', 'OLD.milestone_id IS DISTINCT FROM NEW.milestone_id',
        'escalation_id = NEW.id'),
    'escalation_search_project': (
        'UPDATE OF code, name, owner_id ON projects',
        'OLD.code IS DISTINCT FROM NEW.code OR OLD.name IS DISTINCT FROM NEW.name'
        ' OR OLD.owner_id IS DISTINCT FROM NEW.owner_id',
        'project_id = NEW.id'),
    'escalation_search_milestone': (
        'UPDATE OF name, owner_id, project_id ON milestones',
        'OLD.name IS DISTINCT FROM NEW.name OR OLD.owner_id IS DISTINCT FROM NEW.owner_id'
        ' OR OLD.project_id IS DISTINCT FROM NEW.project_id',
        'milestone_id = NEW.id'),
    'escalation_search_person': (
        'UPDATE OF name ON persons', 'OLD.name IS DISTINCT FROM NEW.name',
        'milestone_id IN (' + RESPONSIBLE_FOR.format(pid='NEW.id') + ')'),
}


def _trgm_schema(bind) -> str:
    """The schema pg_trgm lives in, installing it (in public, shared by every schema of the
    database, so dropping one schema never drops it) when missing."""
    found = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'").scalar()
    if found is None:
        bind.exec_driver_sql('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public')
        found = 'public'
    return found


def _upgrade_search_sqlite() -> None:
    op.execute(SOURCE_VIEW.format(fold='', sep='char(31)'))
    op.execute("CREATE VIRTUAL TABLE escalation_search USING fts5(haystack, tokenize='trigram')")
    insert = ('INSERT INTO escalation_search(rowid, haystack)'
              ' SELECT escalation_id, haystack FROM escalation_search_source')
    for name, (event, when, which) in TRIGGERS.items():
        condition = f" WHEN {when.replace('IS DISTINCT FROM', 'IS NOT')}" if when else ''
        refresh = f'WHERE {which}'
        op.execute(
            f'CREATE TRIGGER {name} AFTER {event} FOR EACH ROW{condition} BEGIN'
            f' DELETE FROM escalation_search WHERE rowid IN'
            f' (SELECT escalation_id FROM escalation_search_source {refresh});'
            f' {insert} {refresh}; END')
    op.execute('CREATE TRIGGER escalation_search_escalation_delete AFTER DELETE ON escalations FOR EACH ROW'
               ' BEGIN DELETE FROM escalation_search WHERE rowid = OLD.id; END')
    op.execute(insert)


def _upgrade_search_postgresql() -> None:
    trgm = _trgm_schema(op.get_bind())
    op.execute(SOURCE_VIEW.format(fold='lower', sep='chr(31)'))
    op.execute(
        'CREATE TABLE escalation_search (escalation_id integer PRIMARY KEY'
        ' REFERENCES escalations (id) ON DELETE CASCADE, haystack text NOT NULL)')
    upsert = ('INSERT INTO escalation_search (escalation_id, haystack)'
              ' SELECT escalation_id, haystack FROM escalation_search_source {where}'
              ' ON CONFLICT (escalation_id) DO UPDATE SET haystack = excluded.haystack')
    for name, (event, when, which) in TRIGGERS.items():
        op.execute(
            f'CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$'
            f' BEGIN {upsert.format(where="WHERE " + which)}; RETURN NULL; END $$')
        condition = f' WHEN ({when})' if when else ''
        op.execute(f'CREATE TRIGGER {name} AFTER {event} FOR EACH ROW{condition} EXECUTE FUNCTION {name}()')
    op.execute(upsert.format(where=''))
    op.execute(f'CREATE INDEX ix_escalation_search_trgm ON escalation_search USING gin (haystack {trgm}.gin_trgm_ops)')


def upgrade() -> None:
    unfinished = sa.text('completed_on IS NOT NULL')
    op.drop_index('ix_milestones_completed_on', table_name='milestones')
    op.create_index('ix_milestones_completed_on', 'milestones', ['completed_on'],
                    sqlite_where=unfinished, postgresql_where=unfinished)
    op.drop_index('ix_milestones_status_due_date', table_name='milestones')
    op.create_index('ix_milestones_status_due_date', 'milestones', ['status', 'due_date', 'project_id', 'completed_on'])
    scheduled = sa.text("schedule <> ''")
    op.create_index('ix_projects_scheduled', 'projects', ['status'], sqlite_where=scheduled, postgresql_where=scheduled)

    if op.get_bind().dialect.name == 'postgresql':
        _upgrade_search_postgresql()
    else:
        _upgrade_search_sqlite()


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name in (*TRIGGERS, 'escalation_search_escalation_delete'):
        table = TRIGGERS[name][0].split(' ON ')[1] if name in TRIGGERS else 'escalations'
        if postgresql and name in TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}')
            op.execute(f'DROP FUNCTION IF EXISTS {name}()')
        elif not postgresql:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
    op.execute('DROP TABLE escalation_search')  # pg_trgm stays: other schemas may use it
    op.execute('DROP VIEW escalation_search_source')

    op.drop_index('ix_projects_scheduled', table_name='projects')
    op.drop_index('ix_milestones_status_due_date', table_name='milestones')
    op.create_index('ix_milestones_status_due_date', 'milestones', ['status', 'due_date', 'project_id'])
    op.drop_index('ix_milestones_completed_on', table_name='milestones')
    op.create_index('ix_milestones_completed_on', 'milestones', ['completed_on'])
