/** Baseline for send throughput: the same HTTP stack (express 5 + Apollo Server 5) answering `{ __typename }`. */
import { createServer } from "node:http";
import { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";

const apollo = new ApolloServer({ typeDefs: "type Query { ok: Boolean }", resolvers: { Query: { ok: () => true } } });
await apollo.start();
const app = express();
app.get("/ready", (_req, res) => void res.send("ok"));
app.use("/graphql", express.json(), expressMiddleware(apollo));
createServer(app).listen(Number(process.env.PORT), "127.0.0.1");
