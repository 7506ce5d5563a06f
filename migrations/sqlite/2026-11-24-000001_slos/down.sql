DROP TABLE api_tokens;
DROP TABLE sli_blocks;
DROP TABLE slos;
DROP TABLE source_documents;
