-- Projects: work for a client company (or internal work), shared with staff directly or
-- through teams. Archiving keeps everything and makes the project read-only.
create table projects (
    project_id text primary key,
    name text not null,
    description text not null,
    company_id text references companies (company_id),
    status text not null check (status in ('active', 'archived')),
    archived_at text,
    created_at text not null,
    updated_at text not null
);

create index projects_company on projects (company_id, project_id);

create table project_members (
    project_id text not null references projects (project_id) on delete cascade,
    user_id text not null references users (user_id),
    created_at text not null,
    updated_at text not null,
    primary key (project_id, user_id)
);

create index project_members_user on project_members (user_id);

create table project_teams (
    project_id text not null references projects (project_id) on delete cascade,
    team_id text not null references teams (team_id),
    created_at text not null,
    updated_at text not null,
    primary key (project_id, team_id)
);

create index project_teams_team on project_teams (team_id);
