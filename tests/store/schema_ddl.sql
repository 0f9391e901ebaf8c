-- sqlite
CREATE TABLE convo_conversations (
	id VARCHAR(64) NOT NULL, 
	tenant VARCHAR(64) NOT NULL, 
	title TEXT, 
	metadata JSON NOT NULL, 
	active_branch VARCHAR(200) NOT NULL, 
	turn_count INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	deleted_at DATETIME, 
	version INTEGER DEFAULT 1 NOT NULL, 
	input_tokens BIGINT DEFAULT 0 NOT NULL, 
	cache_read_tokens BIGINT DEFAULT 0 NOT NULL, 
	cache_write_tokens BIGINT DEFAULT 0 NOT NULL, 
	output_tokens BIGINT DEFAULT 0 NOT NULL, 
	reasoning_tokens BIGINT DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_convo_conversations PRIMARY KEY (id)
);
CREATE INDEX ix_convo_conversations_tenant_created ON convo_conversations (tenant, created_at, id);
CREATE INDEX ix_convo_conversations_tenant_updated ON convo_conversations (tenant, updated_at, id);
CREATE TABLE convo_blobs (
	conversation_id VARCHAR(64) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	media_type VARCHAR(64) NOT NULL, 
	data BLOB NOT NULL, 
	CONSTRAINT pk_convo_blobs PRIMARY KEY (conversation_id, sha256), 
	CONSTRAINT fk_convo_blobs_conversation_id_convo_conversations FOREIGN KEY(conversation_id) REFERENCES convo_conversations (id) ON DELETE CASCADE
);
CREATE TABLE convo_turns (
	conversation_id VARCHAR(64) NOT NULL, 
	id VARCHAR(67) NOT NULL, 
	parent_id VARCHAR(67), 
	role VARCHAR(16) NOT NULL, 
	depth INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	payload TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	search_text TEXT DEFAULT '' NOT NULL, 
	path_input_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_cache_read_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_cache_write_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_output_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_reasoning_tokens BIGINT DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_convo_turns PRIMARY KEY (conversation_id, id), 
	CONSTRAINT fk_convo_turns_parent_convo_turns FOREIGN KEY(conversation_id, parent_id) REFERENCES convo_turns (conversation_id, id) ON DELETE CASCADE, 
	CONSTRAINT fk_convo_turns_conversation_id_convo_conversations FOREIGN KEY(conversation_id) REFERENCES convo_conversations (id) ON DELETE CASCADE
);
CREATE INDEX ix_convo_turns_parent ON convo_turns (conversation_id, parent_id);
CREATE TABLE convo_heads (
	conversation_id VARCHAR(64) NOT NULL, 
	branch VARCHAR(200) NOT NULL, 
	turn_id VARCHAR(67), 
	version INTEGER NOT NULL, 
	CONSTRAINT pk_convo_heads PRIMARY KEY (conversation_id, branch), 
	CONSTRAINT fk_convo_heads_turn_convo_turns FOREIGN KEY(conversation_id, turn_id) REFERENCES convo_turns (conversation_id, id) ON DELETE CASCADE, 
	CONSTRAINT fk_convo_heads_conversation_id_convo_conversations FOREIGN KEY(conversation_id) REFERENCES convo_conversations (id) ON DELETE CASCADE
);
-- postgresql
CREATE TABLE convo_conversations (
	id VARCHAR(64) NOT NULL, 
	tenant VARCHAR(64) NOT NULL, 
	title TEXT, 
	metadata JSON NOT NULL, 
	active_branch VARCHAR(200) NOT NULL, 
	turn_count INTEGER NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	deleted_at TIMESTAMP WITHOUT TIME ZONE, 
	version INTEGER DEFAULT 1 NOT NULL, 
	input_tokens BIGINT DEFAULT 0 NOT NULL, 
	cache_read_tokens BIGINT DEFAULT 0 NOT NULL, 
	cache_write_tokens BIGINT DEFAULT 0 NOT NULL, 
	output_tokens BIGINT DEFAULT 0 NOT NULL, 
	reasoning_tokens BIGINT DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_convo_conversations PRIMARY KEY (id)
);
CREATE INDEX ix_convo_conversations_tenant_created ON convo_conversations (tenant, created_at, id);
CREATE INDEX ix_convo_conversations_tenant_updated ON convo_conversations (tenant, updated_at, id);
CREATE TABLE convo_blobs (
	conversation_id VARCHAR(64) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	media_type VARCHAR(64) NOT NULL, 
	data BYTEA NOT NULL, 
	CONSTRAINT pk_convo_blobs PRIMARY KEY (conversation_id, sha256), 
	CONSTRAINT fk_convo_blobs_conversation_id_convo_conversations FOREIGN KEY(conversation_id) REFERENCES convo_conversations (id) ON DELETE CASCADE
);
CREATE TABLE convo_turns (
	conversation_id VARCHAR(64) NOT NULL, 
	id VARCHAR(67) NOT NULL, 
	parent_id VARCHAR(67), 
	role VARCHAR(16) NOT NULL, 
	depth INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	payload TEXT NOT NULL, 
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	search_text TEXT DEFAULT '' NOT NULL, 
	path_input_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_cache_read_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_cache_write_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_output_tokens BIGINT DEFAULT 0 NOT NULL, 
	path_reasoning_tokens BIGINT DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_convo_turns PRIMARY KEY (conversation_id, id), 
	CONSTRAINT fk_convo_turns_parent_convo_turns FOREIGN KEY(conversation_id, parent_id) REFERENCES convo_turns (conversation_id, id) ON DELETE CASCADE, 
	CONSTRAINT fk_convo_turns_conversation_id_convo_conversations FOREIGN KEY(conversation_id) REFERENCES convo_conversations (id) ON DELETE CASCADE
);
CREATE INDEX ix_convo_turns_parent ON convo_turns (conversation_id, parent_id);
CREATE TABLE convo_heads (
	conversation_id VARCHAR(64) NOT NULL, 
	branch VARCHAR(200) NOT NULL, 
	turn_id VARCHAR(67), 
	version INTEGER NOT NULL, 
	CONSTRAINT pk_convo_heads PRIMARY KEY (conversation_id, branch), 
	CONSTRAINT fk_convo_heads_turn_convo_turns FOREIGN KEY(conversation_id, turn_id) REFERENCES convo_turns (conversation_id, id) ON DELETE CASCADE, 
	CONSTRAINT fk_convo_heads_conversation_id_convo_conversations FOREIGN KEY(conversation_id) REFERENCES convo_conversations (id) ON DELETE CASCADE
);
