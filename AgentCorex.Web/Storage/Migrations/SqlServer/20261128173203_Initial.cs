using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    key_id = table.Column<string>(type: "nvarchar(32)", maxLength: 32, nullable: false),
                    name = table.Column<string>(type: "nvarchar(100)", maxLength: 100, nullable: false),
                    plan = table.Column<string>(type: "nvarchar(32)", maxLength: 32, nullable: false),
                    is_admin = table.Column<bool>(type: "bit", nullable: false),
                    secret_hash = table.Column<byte[]>(type: "varbinary(32)", maxLength: 32, nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime2", nullable: false),
                    revoked_at = table.Column<DateTime>(type: "datetime2", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_api_keys", x => x.key_id);
                });

            migrationBuilder.CreateTable(
                name: "jobs",
                columns: table => new
                {
                    job_id = table.Column<string>(type: "nvarchar(32)", maxLength: 32, nullable: false),
                    hangfire_id = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: true),
                    owner_key_id = table.Column<string>(type: "nvarchar(32)", maxLength: 32, nullable: false),
                    tool = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    arguments = table.Column<string>(type: "nvarchar(max)", nullable: false),
                    status = table.Column<string>(type: "nvarchar(16)", maxLength: 16, nullable: false),
                    timeout_ms = table.Column<int>(type: "int", nullable: false),
                    attempt = table.Column<int>(type: "int", nullable: false),
                    created_at = table.Column<DateTime>(type: "datetime2", nullable: false),
                    started_at = table.Column<DateTime>(type: "datetime2", nullable: true),
                    completed_at = table.Column<DateTime>(type: "datetime2", nullable: true),
                    execution_time_ms = table.Column<long>(type: "bigint", nullable: true),
                    result = table.Column<string>(type: "nvarchar(max)", nullable: true),
                    error_code = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: true),
                    error_message = table.Column<string>(type: "nvarchar(max)", nullable: true),
                    error_details = table.Column<string>(type: "nvarchar(max)", nullable: true),
                    tokens_input = table.Column<long>(type: "bigint", nullable: false),
                    tokens_output = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_jobs", x => x.job_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_status_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_status_created",
                table: "jobs",
                columns: new[] { "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tool_status_completed",
                table: "jobs",
                columns: new[] { "tool", "status", "completed_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "jobs");
        }
    }
}
