DROP TRIGGER entities_delete_children ON entities;
DROP FUNCTION delete_entity_children();
DELETE FROM entity_tags WHERE entity_id NOT IN (SELECT id FROM entities);
DELETE FROM relations WHERE originating_entity_id NOT IN (SELECT id FROM entities);
ALTER TABLE entity_tags ADD CONSTRAINT entity_tags_entity_id_fkey
    FOREIGN KEY (entity_id) REFERENCES entities (id) ON DELETE CASCADE;
ALTER TABLE relations ADD CONSTRAINT relations_originating_entity_id_fkey
    FOREIGN KEY (originating_entity_id) REFERENCES entities (id) ON DELETE CASCADE;
