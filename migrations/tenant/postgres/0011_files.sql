-- Files of projects. Bytes live in the file store under their SHA-256 (file_blobs: one
-- row per distinct content of the brand, with the state of its preview); a file has one
-- or more versions, the newest its current one; a file in the trash has deleted_at.
create table file_blobs (
    sha256 text primary key,
    size_bytes bigint not null,
    preview text not null check (preview in ('none', 'pending', 'ready', 'refused')),
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table files (
    file_id text primary key,
    project_id text not null references projects (project_id) on delete cascade,
    task_id text references tasks (task_id) on delete set null,
    visibility text not null check (visibility in ('internal', 'client')),
    current_version bigint not null,
    deleted_at timestamptz,
    deleted_by text,
    created_by text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index files_project on files (project_id, file_id);
create index files_task on files (task_id);
create index files_trash on files (deleted_at);

create table file_versions (
    file_id text not null references files (file_id) on delete cascade,
    version bigint not null,
    name text not null,
    sha256 text not null references file_blobs (sha256),
    size_bytes bigint not null,
    content_type text not null,
    uploaded_by text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (file_id, version)
);

create index file_versions_sha256 on file_versions (sha256);
