"""Learning management systems: packaging assignments for them and converting results."""

# Of an LMS's time limit, what the student's code may use in all; the rest is the
# grader's (TensorFlow's import, the reference's answers, the grader's own training).
STUDENT_SHARE = 0.6
