DROP TABLE scaffolded_services;
DROP TABLE registered_locations;
DROP TABLE scaffold_task_archives;
DROP TABLE scaffold_task_events;
DROP TABLE scaffold_tasks;
DROP TABLE template_versions;
