"""The analysis: the paper's tables and figures as declarations, the statistics, the tables
and their claims, the findings, the effect sizes and the plots. Reads results rows; trains
nothing."""
