"""The counter app: staff call, recall, finish and transfer visitors at their desk."""
