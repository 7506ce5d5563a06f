// The tables of both backends; migrations/sqlite and migrations/postgres create the same shape.

diesel::table! {
    sources (id) {
        id -> BigInt,
        path -> Text,
        root -> Text,
        content_hash -> Text,
        targets -> Text,
        dependencies -> Text,
        problems -> Text,
        error_count -> Integer,
        refreshed_at -> Timestamp,
    }
}

diesel::table! {
    entities (id) {
        id -> BigInt,
        entity_ref -> Text,
        kind -> Text,
        namespace -> Text,
        name -> Text,
        title -> Nullable<Text>,
        description -> Nullable<Text>,
        spec_type -> Nullable<Text>,
        lifecycle -> Nullable<Text>,
        owner_ref -> Nullable<Text>,
        display_name -> Text,
        sort_name -> Text,
        search_text -> Text,
        body -> Text,
        etag -> Text,
        source_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    entity_tags (entity_id, tag) {
        entity_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    relations (id) {
        id -> BigInt,
        originating_entity_id -> BigInt,
        source_ref -> Text,
        relation_type -> Text,
        target_ref -> Text,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        busy -> Bool,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    catalog_stats (name) {
        name -> Text,
        value -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(entities -> sources (source_id));
diesel::joinable!(entity_tags -> entities (entity_id));
diesel::joinable!(relations -> entities (originating_entity_id));
diesel::allow_tables_to_appear_in_same_query!(sources, entities, entity_tags, relations, leases, catalog_stats);
