"""MatchSum (Zhong et al. 2020): candidate summaries ranked by a Siamese encoder."""
