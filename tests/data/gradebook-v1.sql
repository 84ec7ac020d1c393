-- A gradebook as the first schema version wrote it (grader.gradebook.schema,
-- version 1): the migration tests start from it. Never edit it.
BEGIN TRANSACTION;
CREATE TABLE check_results (
	result_id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	function VARCHAR(200) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	points FLOAT NOT NULL, 
	max_points FLOAT NOT NULL, 
	visibility VARCHAR(20) NOT NULL, 
	PRIMARY KEY (result_id, name), 
	FOREIGN KEY(result_id) REFERENCES results (id)
);
INSERT INTO "check_results" VALUES(1,'test_penalty_value','penalty','passed',2.0,2.0,'visible');
CREATE TABLE grader_meta (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "grader_meta" VALUES('schema_version','1');
CREATE TABLE results (
	id INTEGER NOT NULL, 
	assignment VARCHAR(200) NOT NULL, 
	student TEXT NOT NULL, 
	digest VARCHAR(64) NOT NULL, 
	submission_key VARCHAR(64), 
	grading_key VARCHAR(64) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	score FLOAT NOT NULL, 
	max_score FLOAT NOT NULL, 
	body TEXT NOT NULL, 
	created_at VARCHAR(40) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (assignment, student, digest, grading_key, submission_key)
);
INSERT INTO "results" VALUES(1,'regularization','ada','d1','s1','k1','graded',2.0,2.0,'{"checks": [{"description": "d", "figures": [], "function": "penalty", "internal": "", "max_points": 2.0, "message": "", "name": "test_penalty_value", "points": 2.0, "status": "passed", "visibility": "visible"}], "duration": 1.5, "error": null, "fingerprint": "", "max_score": 2.0, "output": "", "score": 2.0, "source": "ada.py", "status": "graded", "student": "ada"}','2026-11-01T10:04:00.000000+00:00');
CREATE TABLE run_students (
	run_id INTEGER NOT NULL, 
	student TEXT NOT NULL, 
	result_id INTEGER NOT NULL, 
	duration FLOAT NOT NULL, 
	kept INTEGER NOT NULL, 
	PRIMARY KEY (run_id, student), 
	FOREIGN KEY(run_id) REFERENCES runs (id), 
	FOREIGN KEY(result_id) REFERENCES results (id)
);
INSERT INTO "run_students" VALUES(1,'ada',1,1.5,0);
CREATE TABLE runs (
	id INTEGER NOT NULL, 
	assignment VARCHAR(200) NOT NULL, 
	started_at VARCHAR(40) NOT NULL, 
	finished_at VARCHAR(40), 
	user VARCHAR(200) NOT NULL, 
	host VARCHAR(200) NOT NULL, 
	grader_version VARCHAR(40) NOT NULL, 
	tensorflow VARCHAR(40) NOT NULL, 
	keras VARCHAR(40) NOT NULL, 
	grading_key VARCHAR(64) NOT NULL, 
	isolation VARCHAR(40) NOT NULL, 
	cluster TEXT, 
	out_dir TEXT NOT NULL, 
	forced INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "runs" VALUES(1,'regularization','2026-11-01T10:00:00.000000+00:00','2026-11-01T10:05:00.000000+00:00','teacher','lab1','0.1.0','2.21.0','3.15.1','k1','bubblewrap',NULL,'/srv/out',0);
CREATE INDEX ix_runs_assignment ON runs (assignment);
CREATE INDEX results_lookup ON results (assignment, grading_key, student);
COMMIT;
