"""The service layer: one module per capability. Each public function takes the unit of work first and
owns its transaction; views, API handlers, jobs and the CLI all call these and never commit themselves."""
