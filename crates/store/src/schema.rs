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
        missing_since -> Nullable<Timestamp>,
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
    jobs (name) {
        name -> Text,
        kind -> Text,
        due_at -> Timestamp,
        holder -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        attempts -> Integer,
        last_started_at -> Nullable<Timestamp>,
        last_finished_at -> Nullable<Timestamp>,
        last_holder -> Nullable<Text>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    catalog_stats (name) {
        name -> Text,
        value -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    source_documents (source_id, format) {
        source_id -> BigInt,
        format -> Text,
        body -> Text,
    }
}

diesel::table! {
    slos (id) {
        id -> BigInt,
        namespace -> Text,
        name -> Text,
        service -> Text,
        display_name -> Text,
        description -> Text,
        path -> Text,
        line -> Integer,
        col -> Integer,
        source_kind -> Text,
        definition -> Text,
        problems -> Text,
        data_until -> Nullable<Timestamp>,
        stale_since -> Nullable<Timestamp>,
        stale_reason -> Nullable<Text>,
        status -> Nullable<Text>,
        evaluated_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sli_blocks (slo_id, resolution, start) {
        slo_id -> BigInt,
        resolution -> Text,
        start -> Timestamp,
        data -> Binary,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        team -> Nullable<Text>,
        secret_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        display_name -> Text,
        user_ref -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    login_attempts (id_hash) {
        id_hash -> Text,
        state -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        return_to -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target -> Text,
        outcome -> Text,
        client_addr -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    template_versions (namespace, name, version) {
        namespace -> Text,
        name -> Text,
        version -> Text,
        title -> Text,
        description -> Text,
        owner -> Nullable<Text>,
        template_type -> Text,
        tags -> Text,
        path -> Text,
        content_hash -> Text,
        bundle -> Binary,
        first_seen -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    scaffold_tasks (id) {
        id -> Text,
        template_ref -> Text,
        template_version -> Text,
        parameters -> Text,
        state -> Text,
        output -> Nullable<Text>,
        error -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        attempts -> Integer,
    }
}

diesel::table! {
    scaffold_task_events (seq) {
        seq -> BigInt,
        task_id -> Text,
        step -> Nullable<Integer>,
        kind -> Text,
        message -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    scaffold_task_archives (task_id) {
        task_id -> Text,
        file_name -> Text,
        data -> Binary,
    }
}

diesel::table! {
    registered_locations (target) {
        target -> Text,
        task_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scaffolded_services (entity_ref) {
        entity_ref -> Text,
        template_ref -> Text,
        template_version -> Text,
        parameters -> Text,
        task_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scorecards (name) {
        name -> Text,
        title -> Text,
        description -> Text,
        definition -> Text,
        path -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    scorecard_results (scorecard, entity_ref) {
        scorecard -> Text,
        entity_ref -> Text,
        owner_ref -> Nullable<Text>,
        level -> Integer,
        rules -> Text,
        failing -> Integer,
        budget_remaining -> Nullable<Double>,
        evaluated_at -> Timestamp,
    }
}

diesel::table! {
    scorecard_snapshots (scorecard, taken_on, owner_ref, level) {
        scorecard -> Text,
        taken_on -> Timestamp,
        owner_ref -> Text,
        level -> Integer,
        entities -> Integer,
        budget_sum -> Double,
        budget_count -> Integer,
        budget_min -> Nullable<Double>,
    }
}

diesel::table! {
    scorecard_level_changes (id) {
        id -> BigInt,
        scorecard -> Text,
        entity_ref -> Text,
        from_level -> Nullable<Integer>,
        to_level -> Integer,
        at -> Timestamp,
    }
}

diesel::joinable!(entities -> sources (source_id));
diesel::joinable!(source_documents -> sources (source_id));
diesel::joinable!(sli_blocks -> slos (slo_id));
diesel::joinable!(entity_tags -> entities (entity_id));
diesel::joinable!(relations -> entities (originating_entity_id));
diesel::joinable!(scaffold_task_events -> scaffold_tasks (task_id));
diesel::joinable!(scaffold_task_archives -> scaffold_tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(
    sources,
    entities,
    entity_tags,
    relations,
    jobs,
    catalog_stats,
    source_documents,
    slos,
    template_versions,
    scaffold_tasks,
    scaffold_task_events,
    scaffold_task_archives,
    registered_locations,
    scaffolded_services,
    scorecards,
    scorecard_results,
    scorecard_snapshots,
    scorecard_level_changes,
    sli_blocks,
    api_tokens
);
