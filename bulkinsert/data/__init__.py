"""What gets inserted: the table schemas, workloads, generated rows and their COPY encodings."""
