DROP TABLE catalog_stats;
DROP TABLE leases;
DROP TABLE relations;
DROP TABLE entity_tags;
DROP TABLE entities;
DROP TABLE sources;
