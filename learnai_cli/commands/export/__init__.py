"""`learnai export`: a trained run's model written in a deployable format and checked against the trained model
(run.py), each format's writer and loader (formats.py)."""
