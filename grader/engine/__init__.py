"""The trusted grading pipeline: every front end (``grader run``, ``check``, ``validate``,
``release``, Gradescope, PrairieLearn) grades through ``GradingSession``.

- ``session``: a grading process prepared once (TensorFlow, isolation, the reference's
  side of every check), then ``grade(submission)``;
- ``grading``: the one grade path for a submission, the reference's own baseline;
- ``plugin``: the pytest plugin turning check outcomes into verdicts;
- ``proxy``: what a check sees of the student's module;
- ``reference``: the live reference solution, or its recorded answers;
- ``recording``: recording the reference's answers for a release;
- ``runner``: a class spread over several grading processes, resumable.
"""
