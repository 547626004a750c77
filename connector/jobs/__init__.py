"""Jobs as data: what each configured job kind runs, and their schedules."""
